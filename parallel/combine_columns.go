package parallel

import (
	"reflect"
	"unsafe"
)

// The column combiner: the built-in aggregations (Sum, Count, Mean) carry
// a kernel that folds a key column and a value column straight into dense
// accumulator arrays, one tight loop with no function value called per
// row, in one pass over the columns: the arrays cover a key range guessed
// from the first rows, the kernel stops at the first row whose key falls
// outside it, and the combiner widens the range and goes on from that row
// (or, when the keys span too many values, folds the rest through a map).
// Integer keys are read through a signed integer of their width (a uint32
// key ≥ 2^31 reads as a negative int32: the mapping is still a bijection,
// so the keys come back unchanged). Where consecutive rows often share a
// key (a skewed column), one accumulator per key would make every row
// wait for the previous row's add; with few distinct keys the kernel
// keeps four interleaved sets of accumulators (rows i mod 4) and adds them
// up at the end.

// signed is the set of key readers of the column kernels.
type signed interface {
	~int8 | ~int16 | ~int32 | ~int64
}

// colFold is the column kernel of a built-in aggregation: each function
// adds rows of ks and vs (vs as long as ks) into acc and cnt, indexed
// key−lo, from the first row up to the first whose key lies outside
// [lo, lo+len(acc)), and returns the number of rows it added.
type colFold[V, A any] struct {
	k8  func(ks []int8, vs []V, lo int64, acc []A, cnt []int64) int
	k16 func(ks []int16, vs []V, lo int64, acc []A, cnt []int64) int
	k32 func(ks []int32, vs []V, lo int64, acc []A, cnt []int64) int
	k64 func(ks []int64, vs []V, lo int64, acc []A, cnt []int64) int
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

func denseSum[I signed, V Number](ks []I, vs []V, lo int64, acc []V, cnt []int64) int {
	return denseAdd(ks, vs, lo, acc, cnt)
}

// denseAdd adds each row's value, converted to S, into acc[key−lo] and
// counts the row in cnt[key−lo], up to the first row whose key is out of
// range; it returns the rows added. A lane keeps each key's sum and count
// side by side, so a row touches one slot; the range check is the slot's
// bounds check.
func denseAdd[I signed, V, S Number](ks []I, vs []V, lo int64, acc []S, cnt []int64) int {
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
			x0, x1, x2, x3 := uint64(int64(ks[i])-lo), uint64(int64(ks[i+1])-lo), uint64(int64(ks[i+2])-lo), uint64(int64(ks[i+3])-lo)
			if x0 >= uint64(len(t0)) || x1 >= uint64(len(t1)) || x2 >= uint64(len(t2)) || x3 >= uint64(len(t3)) {
				break
			}
			a, b, d, e := &t0[x0], &t1[x1], &t2[x2], &t3[x3]
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
		x := uint64(int64(ks[i]) - lo)
		if x >= uint64(len(t0)) {
			break
		}
		a := &t0[x]
		a.s += S(vs[i])
		a.c++
	}
	for j := range n {
		acc[j] += t0[j].s
		cnt[j] += t0[j].c
	}
	return i
}

func denseCount[I signed, V any](ks []I, _ []V, lo int64, acc []int64, cnt []int64) int {
	n := len(acc)
	i := 0
	if n <= laneKeys && len(ks) >= 64*n {
		c := make([]int64, 4*n)
		c0, c1, c2, c3 := c[:n], c[n:2*n], c[2*n:3*n], c[3*n:]
		for ; i+4 <= len(ks); i += 4 {
			x0, x1, x2, x3 := uint64(int64(ks[i])-lo), uint64(int64(ks[i+1])-lo), uint64(int64(ks[i+2])-lo), uint64(int64(ks[i+3])-lo)
			if x0 >= uint64(len(c0)) || x1 >= uint64(len(c1)) || x2 >= uint64(len(c2)) || x3 >= uint64(len(c3)) {
				break
			}
			c0[x0]++
			c1[x1]++
			c2[x2]++
			c3[x3]++
		}
		for j := range n {
			cnt[j] += c0[j] + c1[j] + c2[j] + c3[j]
		}
	}
	for ; i < len(ks); i++ {
		x := uint64(int64(ks[i]) - lo)
		if x >= uint64(len(cnt)) {
			break
		}
		cnt[x]++
	}
	for j := range n {
		acc[j] = cnt[j]
	}
	return i
}

// denseMean sums integer values of up to 32 bits exactly in int64
// (converted to float64 once per key and call; exact below 2^53 in all),
// other values in float64.
func denseMean[I signed, V Number](ks []I, vs []V, lo int64, acc []MeanAcc, cnt []int64) int {
	n := len(acc)
	c := make([]int64, n)
	var done int
	if smallInt[V]() {
		sum := make([]int64, n)
		done = denseAdd(ks, vs, lo, sum, c)
		for j := range n {
			acc[j].Sum += float64(sum[j])
		}
	} else {
		sum := make([]float64, n)
		done = denseAdd(ks, vs, lo, sum, c)
		for j := range n {
			acc[j].Sum += sum[j]
		}
	}
	for j := range n {
		acc[j].N += c[j]
		cnt[j] += c[j]
	}
	return done
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
// from key to accumulator slot otherwise (or for the rows after the keys'
// span outgrew the dense arrays).
func combineColumns[K Key, V, A any](keys []K, vals []V, agg Agg[V, A]) map[K]A {
	f := newSlots[K](agg.Zero)
	vals = vals[:len(keys)]
	i := 0
	if agg.col != nil && len(keys) > 0 {
		switch keyWidth[K]() {
		case 1:
			i = denseColumns(asSigned[int8](keys), vals, agg, agg.col.k8, f)
		case 2:
			i = denseColumns(asSigned[int16](keys), vals, agg, agg.col.k16, f)
		case 4:
			i = denseColumns(asSigned[int32](keys), vals, agg, agg.col.k32, f)
		case 8:
			i = denseColumns(asSigned[int64](keys), vals, agg, agg.col.k64, f)
		}
	}
	for ; i < len(keys); i++ {
		a := f.at(keys[i])
		*a = agg.Add(*a, vals[i])
	}
	return f.result()
}

// probeRows is how many rows combineColumns reads to guess, or widen, the
// dense arrays' key range.
const probeRows = 1024

// denseColumns is combineColumns' dense path, one pass over the columns:
// it folds rows through fold into arrays covering the key range of the
// next probeRows rows, widens the range (twice the span, at least) when
// fold stops at a key outside it, and stops when the keys would span more
// than maxDense values, or more than 4 per row. It stores the
// accumulators of the rows it folded in f and returns how many it folded.
func denseColumns[I signed, K Key, V, A any](ks []I, vals []V, agg Agg[V, A],
	fold func([]I, []V, int64, []A, []int64) int, f *slots[K, A]) int {
	limit := int64(min(maxDense, 4*len(ks)))
	var acc []A
	var cnt []int64
	var lo int64
	i := 0
	for i < len(ks) {
		// The next rows' key range, with the arrays' range so far.
		nlo, nhi := int64(ks[i]), int64(ks[i])
		for _, k := range ks[i:min(len(ks), i+probeRows)] {
			nlo, nhi = min(nlo, int64(k)), max(nhi, int64(k))
		}
		if acc != nil {
			span := int64(len(acc))
			nlo, nhi = min(nlo, lo), max(nhi, lo+span-1)
			// Widen by at least the span so far, so that keys creeping
			// outward cost few rebuilds.
			if nhi-nlo+1 < 2*span {
				if nlo < lo {
					nlo = max(nhi-2*span+1, lo-2*span)
				} else {
					nhi = nlo + 2*span - 1
				}
			}
		}
		if nhi-nlo >= limit || nhi < nlo {
			break
		}
		n := int(nhi - nlo + 1)
		nacc, ncnt := make([]A, n), make([]int64, n)
		for j := range nacc {
			nacc[j] = agg.Zero
		}
		if acc != nil {
			copy(nacc[lo-nlo:], acc)
			copy(ncnt[lo-nlo:], cnt)
		}
		acc, cnt, lo = nacc, ncnt, nlo
		i += fold(ks[i:], vals[i:], lo, acc, cnt)
	}
	for j, c := range cnt {
		if c > 0 {
			*f.at(fromSigned[K](I(lo + int64(j)))) = acc[j]
		}
	}
	return i
}
