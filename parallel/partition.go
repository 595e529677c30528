package parallel

import (
	"cmp"
	"context"
	"slices"
	"sort"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
)

// Key is the set of key types the package hashes itself, the same way on
// every rank (Go's maphash is seeded per process, so it cannot be used to
// agree on owners): integers and strings.
type Key interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 |
		~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~uintptr | ~string
}

// Hash returns a 64-bit hash of k, identical in every process of a job:
// a SplitMix64 finaliser for integers, FNV-1a for strings.
func Hash[K Key](k K) uint64 {
	switch v := any(k).(type) {
	case string:
		return fnv(v)
	}
	// Every other Key is an integer (or a type defined on one).
	if s, ok := asString(k); ok {
		return fnv(s)
	}
	return mix(asUint64(k))
}

func fnv(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return mix(h)
}

func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// HashPartition is the owner of key k among size ranks: Hash(k) mod size.
func HashPartition[K Key](k K, size int) int { return int(Hash(k) % uint64(size)) }

// RangePartition assigns keys to ranks by order: rank r owns the keys k
// with Bounds[r-1] ≤ k < Bounds[r] (rank 0 everything below Bounds[0],
// the last rank everything from the last bound up). Its methods may be
// called from many goroutines.
type RangePartition[K cmp.Ordered] struct {
	Bounds []K // size-1 bounds, ascending
}

// Rank returns the owner of k.
func (p RangePartition[K]) Rank(k K) int {
	return sort.Search(len(p.Bounds), func(i int) bool { return k < p.Bounds[i] })
}

// NewRangePartition computes bounds that split the keys evenly over the
// ranks of c from a sample of each rank's keys (a few hundred per rank is
// plenty), as Spark's sortByKey and Dask's set_index do: every rank's
// sample is gathered everywhere (msgpack), sorted, and cut at evenly
// spaced quantiles. Collective; every rank gets the same partition.
func NewRangePartition[K cmp.Ordered](ctx context.Context, c *comm.Comm, sample []K) (RangePartition[K], error) {
	all := make([][]K, c.Size())
	if err := collectives.AllgatherValue(ctx, c, all, nonNil(sample)); err != nil {
		return RangePartition[K]{}, err
	}
	var keys []K
	for _, s := range all {
		keys = append(keys, s...)
	}
	slices.Sort(keys)
	p := RangePartition[K]{Bounds: make([]K, 0, c.Size()-1)}
	if len(keys) == 0 {
		return p, nil
	}
	for r := 1; r < c.Size(); r++ {
		p.Bounds = append(p.Bounds, keys[r*len(keys)/c.Size()])
	}
	return p, nil
}
