package parallel

import (
	"reflect"
	"unsafe"
)

// The column combiner: the built-in aggregations (Sum, Count, Mean) carry
// a kernel that folds a key column and a value column straight into dense
// accumulator arrays, one tight loop with no function value called per
// row. Integer keys are read through a signed integer of their width
// (a uint32 key ≥ 2^31 reads as a negative int32: the mapping is still a
// bijection, so the keys come back unchanged). Where consecutive rows
// often share a key (a skewed column), one accumulator per key would make
// every row wait for the previous row's add; with few distinct keys the
// kernel keeps four interleaved sets of accumulators (rows i mod 4) and
// adds them up at the end.

// signed is the set of key readers of the column kernels.
type signed interface {
	~int8 | ~int16 | ~int32 | ~int64
}

// colFold is the column kernel of a built-in aggregation: each function
// adds the rows (keys read as signed integers of one width, all within
// [lo, lo+len(acc)); vs as long as ks) into acc and cnt, indexed key−lo.
type colFold[V, A any] struct {
	k8  func(ks []int8, vs []V, lo int64, acc []A, cnt []int64)
	k16 func(ks []int16, vs []V, lo int64, acc []A, cnt []int64)
	k32 func(ks []int32, vs []V, lo int64, acc []A, cnt []int64)
	k64 func(ks []int64, vs []V, lo int64, acc []A, cnt []int64)
}

// laneKeys is the largest key span folded with four accumulator sets.
const laneKeys = 4096

func sumFold[V Number]() *colFold[V, V] {
	return &colFold[V, V]{denseSum[int8, V], denseSum[int16, V], denseSum[int32, V], denseSum[int64, V]}
}

func countFold[V any]() *colFold[V, int64] {
	return &colFold[V, int64]{denseCount[int8, V], denseCount[int16, V], denseCount[int32, V], denseCount[int64, V]}
}

func meanFold[V Number]() *colFold[V, MeanAcc] {
	return &colFold[V, MeanAcc]{denseMean[int8, V], denseMean[int16, V], denseMean[int32, V], denseMean[int64, V]}
}

func denseSum[I signed, V Number](ks []I, vs []V, lo int64, acc []V, cnt []int64) {
	denseAdd(ks, vs, lo, acc, cnt)
}

// denseAdd adds each row's value, converted to S, into acc[key−lo] and
// counts the row in cnt[key−lo]. A lane keeps each key's sum and count
// side by side, so a row touches one slot (one bounds check).
func denseAdd[I signed, V, S Number](ks []I, vs []V, lo int64, acc []S, cnt []int64) {
	type slot struct {
		s S
		c int64
	}
	n := len(acc)
	vs = vs[:len(ks)]
	lanes := 1
	if n <= laneKeys && len(ks) >= 64*n {
		lanes = 4
	}
	t := make([]slot, lanes*n)
	i := 0
	if lanes == 4 {
		t0, t1, t2, t3 := t[:n], t[n:2*n], t[2*n:3*n], t[3*n:]
		for ; i+4 <= len(ks); i += 4 {
			a, b, d, e := &t0[int64(ks[i])-lo], &t1[int64(ks[i+1])-lo], &t2[int64(ks[i+2])-lo], &t3[int64(ks[i+3])-lo]
			a.s += S(vs[i])
			a.c++
			b.s += S(vs[i+1])
			b.c++
			d.s += S(vs[i+2])
			d.c++
			e.s += S(vs[i+3])
			e.c++
		}
		for j := range n {
			t0[j].s += t1[j].s + t2[j].s + t3[j].s
			t0[j].c += t1[j].c + t2[j].c + t3[j].c
		}
	}
	t0 := t[:n]
	for ; i < len(ks); i++ {
		a := &t0[int64(ks[i])-lo]
		a.s += S(vs[i])
		a.c++
	}
	for j := range n {
		acc[j] += t0[j].s
		cnt[j] += t0[j].c
	}
}

func denseCount[I signed, V any](ks []I, _ []V, lo int64, acc []int64, cnt []int64) {
	n := len(acc)
	i := 0
	if n <= laneKeys && len(ks) >= 64*n {
		c := make([]int64, 4*n)
		c0, c1, c2, c3 := c[:n], c[n:2*n], c[2*n:3*n], c[3*n:]
		for ; i+4 <= len(ks); i += 4 {
			c0[int(int64(ks[i])-lo)]++
			c1[int(int64(ks[i+1])-lo)]++
			c2[int(int64(ks[i+2])-lo)]++
			c3[int(int64(ks[i+3])-lo)]++
		}
		for j := range n {
			cnt[j] += c0[j] + c1[j] + c2[j] + c3[j]
		}
	}
	for ; i < len(ks); i++ {
		cnt[int(int64(ks[i])-lo)]++
	}
	for j := range n {
		acc[j] = cnt[j]
	}
}

// denseMean sums integer values of up to 32 bits exactly in int64
// (converted to float64 once per key; exact below 2^53 in all), other
// values in float64.
func denseMean[I signed, V Number](ks []I, vs []V, lo int64, acc []MeanAcc, cnt []int64) {
	n := len(acc)
	c := make([]int64, n)
	if smallInt[V]() {
		sum := make([]int64, n)
		denseAdd(ks, vs, lo, sum, c)
		for j := range n {
			acc[j].Sum += float64(sum[j])
		}
	} else {
		sum := make([]float64, n)
		denseAdd(ks, vs, lo, sum, c)
		for j := range n {
			acc[j].Sum += sum[j]
		}
	}
	for j := range n {
		acc[j].N += c[j]
		cnt[j] += c[j]
	}
}

// smallInt reports whether V is an integer type of at most 32 bits.
func smallInt[V any]() bool {
	switch reflect.TypeFor[V]().Kind() {
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Uint8, reflect.Uint16, reflect.Uint32:
		return true
	}
	return false
}

// keyWidth is the width in bytes of an integer key type, 0 for strings.
func keyWidth[K Key]() int {
	switch reflect.TypeFor[K]().Kind() {
	case reflect.String:
		return 0
	}
	var k K
	return int(unsafe.Sizeof(k))
}

// asSigned reads a slice of integer keys of I's width as []I.
func asSigned[I signed, K Key](keys []K) []I {
	if len(keys) == 0 {
		return nil
	}
	return unsafe.Slice((*I)(unsafe.Pointer(unsafe.SliceData(keys))), len(keys))
}

// fromSigned is the key whose bits are those of x.
func fromSigned[K Key, I signed](x I) K {
	var k K
	*(*I)(unsafe.Pointer(&k)) = x
	return k
}

// combineColumns folds keys[i], vals[i] into one accumulator per distinct
// key: through the aggregation's column kernel into dense arrays when it
// has one and the keys are integers spanning a small range, through a map
// from key to accumulator slot otherwise.
func combineColumns[K Key, V, A any](keys []K, vals []V, agg Agg[V, A]) map[K]A {
	if agg.col != nil && len(keys) > 0 {
		var m map[K]A
		ok := false
		switch keyWidth[K]() {
		case 1:
			m, ok = denseColumns(asSigned[int8](keys), keys, vals, agg, agg.col.k8)
		case 2:
			m, ok = denseColumns(asSigned[int16](keys), keys, vals, agg, agg.col.k16)
		case 4:
			m, ok = denseColumns(asSigned[int32](keys), keys, vals, agg, agg.col.k32)
		case 8:
			m, ok = denseColumns(asSigned[int64](keys), keys, vals, agg, agg.col.k64)
		}
		if ok {
			return m
		}
	}
	f := newSlots[K](agg.Zero)
	vals = vals[:len(keys)]
	for i, k := range keys {
		a := f.at(k)
		*a = agg.Add(*a, vals[i])
	}
	return f.result()
}

// denseColumns is combineColumns' dense path; it reports false when the
// keys span more than maxDense values, or more than 4 per row.
func denseColumns[I signed, K Key, V, A any](ks []I, _ []K, vals []V, agg Agg[V, A],
	fold func([]I, []V, int64, []A, []int64)) (map[K]A, bool) {
	lo, hi := int64(ks[0]), int64(ks[0])
	for _, k := range ks {
		x := int64(k)
		lo, hi = min(lo, x), max(hi, x)
	}
	if hi-lo >= int64(min(maxDense, 4*len(ks))) {
		return nil, false
	}
	n := int(hi - lo + 1)
	acc := make([]A, n)
	for i := range acc {
		acc[i] = agg.Zero
	}
	cnt := make([]int64, n)
	fold(ks, vals, lo, acc, cnt)
	out := make(map[K]A)
	for i, c := range cnt {
		if c > 0 {
			out[fromSigned[K](I(lo+int64(i)))] = acc[i]
		}
	}
	return out, true
}
