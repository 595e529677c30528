package parallel

import (
	"reflect"
	"unsafe"
)

// The map-side combiner: fold each rank's records into one accumulator
// per distinct key. Integer keys that span a small range (years, store
// numbers, small ids) go into a dense array indexed by key − min, with no
// hashing; other keys into a map from key to a slot of an accumulator
// slice, one map lookup per record.

// maxDense bounds the dense array: keys must span at most this many
// values, and at most 4 per record.
const maxDense = 1 << 20

func combine[R any, K Key, V, A any](recs []R, key func(R) K, val func(R) V, agg Agg[V, A]) map[K]A {
	if toInt := intReader[K](); toInt != nil && len(recs) > 0 {
		if m, ok := combineDense(recs, key, val, agg, toInt); ok {
			return m
		}
	}
	f := newSlots[K](agg.Zero)
	for _, r := range recs {
		a := f.at(key(r))
		*a = agg.Add(*a, val(r))
	}
	return f.result()
}

// slots is the combiners' general path: a map from key to a slot of an
// accumulator slice, looked up once per run of equal keys.
type slots[K comparable, A any] struct {
	slot     map[K]int
	accs     []A
	keys     []K
	zero     A
	last     K
	lastSlot int
}

func newSlots[K comparable, A any](zero A) *slots[K, A] {
	return &slots[K, A]{slot: map[K]int{}, zero: zero, lastSlot: -1}
}

// at is k's accumulator, a new one (zero) for a key not seen before. The
// pointer is valid until the next call.
func (f *slots[K, A]) at(k K) *A {
	s := f.lastSlot
	if s < 0 || k != f.last {
		var ok bool
		if s, ok = f.slot[k]; !ok {
			s = len(f.accs)
			f.slot[k] = s
			f.accs = append(f.accs, f.zero)
			f.keys = append(f.keys, k)
		}
		f.last, f.lastSlot = k, s
	}
	return &f.accs[s]
}

// result is the accumulators by key.
func (f *slots[K, A]) result() map[K]A {
	out := make(map[K]A, len(f.accs))
	for i, k := range f.keys {
		out[k] = f.accs[i]
	}
	return out
}

func combineDense[R any, K Key, V, A any](recs []R, key func(R) K, val func(R) V, agg Agg[V, A], toInt func(K) int64) (map[K]A, bool) {
	k0 := key(recs[0])
	lo, hi := toInt(k0), toInt(k0)
	limit := int64(min(maxDense, 4*len(recs)))
	for _, r := range recs {
		k := key(r)
		x := toInt(k)
		lo, hi = min(lo, x), max(hi, x)
		if hi-lo >= limit {
			return nil, false
		}
	}
	n := hi - lo + 1
	accs := make([]A, n)
	seen := make([]bool, n)
	keys := make([]K, n)
	for _, r := range recs {
		k := key(r)
		i := toInt(k) - lo
		if !seen[i] {
			seen[i], keys[i], accs[i] = true, k, agg.Zero
		}
		accs[i] = agg.Add(accs[i], val(r))
	}
	out := map[K]A{}
	for i, ok := range seen {
		if ok {
			out[keys[i]] = accs[i]
		}
	}
	return out, true
}

// intReader returns a function reading an integer key as an int64 (wrapping
// for uint64 above MaxInt64, which only widens the range), or nil for
// string keys.
func intReader[K Key]() func(K) int64 {
	switch reflect.TypeFor[K]().Kind() {
	case reflect.Int8:
		return func(k K) int64 { return int64(*(*int8)(unsafe.Pointer(&k))) }
	case reflect.Int16:
		return func(k K) int64 { return int64(*(*int16)(unsafe.Pointer(&k))) }
	case reflect.Int32:
		return func(k K) int64 { return int64(*(*int32)(unsafe.Pointer(&k))) }
	case reflect.Int, reflect.Int64:
		return func(k K) int64 { return *(*int64)(unsafe.Pointer(&k)) }
	case reflect.Uint8:
		return func(k K) int64 { return int64(*(*uint8)(unsafe.Pointer(&k))) }
	case reflect.Uint16:
		return func(k K) int64 { return int64(*(*uint16)(unsafe.Pointer(&k))) }
	case reflect.Uint32:
		return func(k K) int64 { return int64(*(*uint32)(unsafe.Pointer(&k))) }
	}
	return nil // uint, uint64, uintptr (ranges may overflow), string
}
