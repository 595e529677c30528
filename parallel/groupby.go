package parallel

import (
	"context"
	"fmt"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
)

// Number is the set of value types the built-in aggregations add up.
type Number interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 |
		~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~float32 | ~float64
}

// Agg is an aggregation of values V into accumulators A, for GroupBy:
// Add folds one value into an accumulator (starting from Zero), Merge
// combines two accumulators of one key (from different ranks; it must be
// associative and commutative, since partials merge in any order).
//
// The built-in aggregations (Sum, Count, Mean) also carry a column
// kernel, which GroupByColumns uses for integer keys spanning a small
// range: the same result (sums of floats to within rounding) in a tight
// loop without a function call per row. An Agg built by hand or by
// Fold always calls Add.
type Agg[V, A any] struct {
	Zero  A
	Add   func(a A, v V) A
	Merge func(a, b A) A

	col *colFold[V, A]
}

// Sum adds the values of each key.
func Sum[V Number]() Agg[V, V] {
	return Agg[V, V]{Add: func(a, v V) V { return a + v }, Merge: func(a, b V) V { return a + b }, col: sumFold[V]()}
}

// Count counts the records of each key.
func Count[V any]() Agg[V, int64] {
	return Agg[V, int64]{Add: func(a int64, _ V) int64 { return a + 1 }, Merge: func(a, b int64) int64 { return a + b },
		col: countFold[V]()}
}

// MeanAcc is the accumulator of Mean: a sum and a count. Sums of floats
// merge in an order that depends on the rank count, so two runs agree to
// within rounding (a relative 1e-15 or so per merge), not bit for bit.
type MeanAcc struct {
	Sum float64
	N   int64
}

// Value is the mean (NaN for no values).
func (m MeanAcc) Value() float64 { return m.Sum / float64(m.N) }

// Mean averages the values of each key.
func Mean[V Number]() Agg[V, MeanAcc] {
	return Agg[V, MeanAcc]{
		Add:   func(a MeanAcc, v V) MeanAcc { return MeanAcc{a.Sum + float64(v), a.N + 1} },
		Merge: func(a, b MeanAcc) MeanAcc { return MeanAcc{a.Sum + b.Sum, a.N + b.N} },
		col:   meanFold[V](),
	}
}

// Fold is a user aggregation, like Spark's aggregateByKey(zero, seqOp,
// combOp).
func Fold[V, A any](zero A, add func(A, V) A, merge func(A, A) A) Agg[V, A] {
	return Agg[V, A]{Zero: zero, Add: add, Merge: merge}
}

// KV is a key and a value (or an accumulator), the record GroupBy
// shuffles. It travels as raw memory when K and V are plain.
type KV[K, V any] struct {
	Key K
	Val V
}

// GroupStats describe one rank's part of a GroupBy.
type GroupStats struct {
	Records  int // records this rank read
	Received int // records (rows or partials) it received in the shuffles
	HotKeys  int // keys salted (with Salt)
}

// GroupOption configures GroupBy.
type GroupOption func(*groupConfig)

type groupConfig struct {
	noCombine bool
	salt      bool
	stats     *GroupStats
}

// NoCombine shuffles every record to the owner of its key and aggregates
// there, like Spark's groupByKey: no map-side combiner. The default
// combines each rank's records per key before the shuffle (reduceByKey),
// so that at most keys × ranks partials move, however the rows are spread.
func NoCombine() GroupOption { return func(g *groupConfig) { g.noCombine = true } }

// Salt spreads the rows of hot keys over all ranks when rows are shuffled
// without a combiner (NoCombine; with the combiner skew costs nothing and
// Salt does nothing): every rank counts every 16th key of its records,
// the keys holding more than a quarter of a rank's fair share (at most 8
// per rank) are agreed on with one Allgather, a hot key's rows go to rank
// (row index mod size) instead of its owner, and a second, small shuffle
// sends the hot keys' partials to their owners.
func Salt() GroupOption { return func(g *groupConfig) { g.salt = true } }

// WithStats makes GroupBy fill *s.
func WithStats(s *GroupStats) GroupOption { return func(g *groupConfig) { g.stats = s } }

// GroupBy aggregates records by key across the ranks of c, the
// groupby().agg() of pandas and Dask, Spark's reduceByKey: each record's
// key and value come from key and val, keys are hash-partitioned
// (HashPartition), and every rank returns the accumulators of the keys it
// owns. Collect gathers them on one rank. Collective; the options must be
// the same on every rank. Records and accumulators travel as raw memory
// when KV[K, V] and KV[K, A] are plain, encoded with msgpack otherwise.
// The map-side combiner (the default) holds one accumulator per distinct
// local key; NoCombine holds the shuffled rows.
func GroupBy[R any, K Key, V, A any](ctx context.Context, c *comm.Comm, recs []R, key func(R) K, val func(R) V,
	agg Agg[V, A], opts ...GroupOption) (map[K]A, error) {
	var cfg groupConfig
	for _, o := range opts {
		o(&cfg)
	}
	var st GroupStats
	if cfg.stats == nil {
		cfg.stats = &st
	}
	*cfg.stats = GroupStats{Records: len(recs)}
	size := c.Size()
	if !cfg.noCombine {
		local := combine(recs, key, val, agg)
		return shufflePartials(ctx, c, local, agg, func(K) bool { return true }, nil, cfg.stats)
	}
	hot := map[K]bool{}
	if cfg.salt && size > 1 {
		var err error
		if hot, err = hotKeys(ctx, c, recs, key); err != nil {
			return nil, err
		}
		cfg.stats.HotKeys = len(hot)
	}
	rows := make([]KV[K, V], len(recs))
	for i, r := range recs {
		rows[i] = KV[K, V]{key(r), val(r)}
	}
	recv, err := Shuffle(ctx, c, rows, func(i int, kv KV[K, V]) int {
		if hot[kv.Key] {
			return i % size // the salt
		}
		return HashPartition(kv.Key, size)
	})
	if err != nil {
		return nil, err
	}
	cfg.stats.Received = len(recv)
	out := map[K]A{}
	for _, kv := range recv {
		a, ok := out[kv.Key]
		if !ok {
			a = agg.Zero
		}
		out[kv.Key] = agg.Add(a, kv.Val)
	}
	if len(hot) == 0 {
		return out, nil
	}
	// The second stage: the hot keys' partials go to their owners.
	return shufflePartials(ctx, c, out, agg, func(k K) bool { return hot[k] }, out, cfg.stats)
}

// shufflePartials sends the accumulators of part's keys that pass keep to
// their owners and merges what arrives into into (a new map when nil),
// after deleting the sent keys from it.
func shufflePartials[K Key, V, A any](ctx context.Context, c *comm.Comm, part map[K]A, agg Agg[V, A],
	keep func(K) bool, into map[K]A, st *GroupStats) (map[K]A, error) {
	size := c.Size()
	send := make([]KV[K, A], 0, len(part))
	for k, a := range part {
		if keep(k) {
			send = append(send, KV[K, A]{k, a})
		}
	}
	recv, err := Shuffle(ctx, c, send, func(_ int, kv KV[K, A]) int { return HashPartition(kv.Key, size) })
	if err != nil {
		return nil, err
	}
	st.Received += len(recv)
	if into == nil {
		into = make(map[K]A, len(recv))
	} else {
		for _, kv := range send {
			delete(into, kv.Key)
		}
	}
	for _, kv := range recv {
		if a, ok := into[kv.Key]; ok {
			into[kv.Key] = agg.Merge(a, kv.Val)
		} else {
			into[kv.Key] = kv.Val
		}
	}
	return into, nil
}

// hotKeys samples every 16th key and agrees on the hot ones.
func hotKeys[R any, K Key](ctx context.Context, c *comm.Comm, recs []R, key func(R) K) (map[K]bool, error) {
	const maxHot = 8
	counts := map[K]int{}
	sampled := 0
	for i := 0; i < len(recs); i += 16 {
		counts[key(recs[i])]++
		sampled++
	}
	mine := []K{}
	for k, n := range counts {
		if len(mine) < maxHot && 4*n*c.Size() > sampled {
			mine = append(mine, k)
		}
	}
	all := make([][]K, c.Size())
	if err := collectives.AllgatherValue(ctx, c, all, mine); err != nil {
		return nil, err
	}
	hot := map[K]bool{}
	for _, ks := range all {
		for _, k := range ks {
			hot[k] = true
		}
	}
	return hot, nil
}

// Collect gathers every rank's part of a partitioned map on root (the
// others get nil), as Dask's compute() or Spark's collect() bring a
// result to the driver. Keys must be owned by one rank only: a key found
// on two ranks is an error on root. Collective.
func Collect[K comparable, A any](ctx context.Context, c *comm.Comm, part map[K]A, root int) (map[K]A, error) {
	if root < 0 || root >= c.Size() {
		return nil, invalidRank("Collect", "root", root, c.Size())
	}
	flat := make([]KV[K, A], 0, len(part))
	for k, a := range part {
		flat = append(flat, KV[K, A]{k, a})
	}
	var all [][]KV[K, A]
	if c.Rank() == root {
		all = make([][]KV[K, A], c.Size())
	}
	if err := collectives.GatherValue(ctx, c, all, flat, root); err != nil {
		return nil, err
	}
	if c.Rank() != root {
		return nil, nil
	}
	out := map[K]A{}
	for r, kvs := range all {
		for _, kv := range kvs {
			if _, dup := out[kv.Key]; dup {
				return nil, fmt.Errorf("parallel: Collect: key %v on two ranks (again on rank %d)", kv.Key, r)
			}
			out[kv.Key] = kv.Val
		}
	}
	return out, nil
}

// GroupByColumns is GroupBy over a table held as columns, like a pandas
// or Dask dataframe: row i has key keys[i] and value vals[i]. With a
// built-in aggregation (Sum, Count, Mean) and integer keys spanning a
// small range, the map-side combiner is one loop over the two columns,
// with no function called per row. Collective, with GroupBy's options,
// results and errors; keys and vals of different lengths on any rank make
// every rank return an error wrapping comm.ErrInvalidArgument. The
// columns are only read.
func GroupByColumns[K Key, V, A any](ctx context.Context, c *comm.Comm, keys []K, vals []V,
	agg Agg[V, A], opts ...GroupOption) (map[K]A, error) {
	var cfg groupConfig
	for _, o := range opts {
		o(&cfg)
	}
	if len(keys) != len(vals) {
		bad := invalid("GroupByColumns", "%d keys and %d values", len(keys), len(vals))
		return nil, failShuffle[KV[K, A]](ctx, c, bad)
	}
	if cfg.noCombine {
		rows := make([]KV[K, V], len(keys))
		for i := range rows {
			rows[i] = KV[K, V]{keys[i], vals[i]}
		}
		return GroupBy(ctx, c, rows, func(kv KV[K, V]) K { return kv.Key }, func(kv KV[K, V]) V { return kv.Val }, agg, opts...)
	}
	var st GroupStats
	if cfg.stats == nil {
		cfg.stats = &st
	}
	*cfg.stats = GroupStats{Records: len(keys)}
	local := combineColumns(keys, vals, agg)
	return shufflePartials(ctx, c, local, agg, func(K) bool { return true }, nil, cfg.stats)
}
