package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/parallel"
)

// Agg is the aggregate of one store: number of sales, units and revenue in
// cents. Integer sums are exact in any order, so the distributed result must
// equal the serial one bit for bit.
type Agg struct {
	Count, Qty, Cents int64
}

func (a *Agg) add(b Agg) { a.Count += b.Count; a.Qty += b.Qty; a.Cents += b.Cents }

// Stats describe one distributed run, as seen by one rank.
type Stats struct {
	Rows     int64         // rows this rank read
	Received int64         // records (rows or partials) it received in the shuffles
	Read     time.Duration // reading and parsing its byte range
	Group    time.Duration // parallel.GroupBy: combining, shuffling, reducing
}

// GroupBy computes the per-store aggregates of the rows of path, whose byte
// range [lo, hi) this rank reads, with parallel.GroupBy in the chosen
// strategy:
//
//	combine: map-side combiner — each rank aggregates its own rows first and
//	         shuffles one partial per (rank, store); skew costs nothing.
//	salt:    rows are shuffled (parallel.NoCombine), but the rows of hot keys
//	         (found by sampling) are spread over all ranks (parallel.Salt);
//	         their partials then go to the owner in a second, small shuffle.
//	raw:     rows are shuffled to the owner of their key: the owner of a hot
//	         key receives most of the data (the fix turned off).
//
// Each rank returns the aggregates of the keys it owns.
//
// rowCost is extra work per row, paid where the row is first aggregated (the
// map side for combine, the receiving rank for raw and salt): xorshift steps
// standing for an expensive per-row function (a UDF, parsing a nested
// field). With cheap aggregates skew costs little CPU; with costly rows the
// rank that receives a hot key's rows becomes the straggler.
func GroupBy(ctx context.Context, c *comm.Comm, path string, lo, hi int64, mode string, rowCost int) (map[int64]Agg, Stats, error) {
	var st Stats
	t := time.Now()
	rows, err := ReadRange(path, lo, hi)
	if err != nil {
		return nil, st, err
	}
	st.Rows = int64(len(rows.Store))
	st.Read = time.Since(t)
	t = time.Now()

	var opts []parallel.GroupOption
	switch mode {
	case "combine":
	case "raw":
		opts = append(opts, parallel.NoCombine())
	case "salt":
		opts = append(opts, parallel.NoCombine(), parallel.Salt())
	default:
		return nil, st, fmt.Errorf("groupby: unknown mode %q (combine, salt or raw)", mode)
	}
	var gs parallel.GroupStats
	opts = append(opts, parallel.WithStats(&gs))
	// The records are row numbers; key and value read the columns.
	idx := make([]int, len(rows.Store))
	for i := range idx {
		idx[i] = i
	}
	sum := parallel.Fold(Agg{},
		func(a Agg, v Agg) Agg { burn(rowCost, v.Qty); a.add(v); return a },
		func(a, b Agg) Agg { a.add(b); return a })
	result, err := parallel.GroupBy(ctx, c, idx,
		func(i int) int64 { return rows.Store[i] },
		func(i int) Agg { return Agg{1, rows.Qty[i], rows.Cents[i]} },
		sum, opts...)
	if err != nil {
		return nil, st, err
	}
	st.Received = int64(gs.Received)
	st.Group = time.Since(t)
	return result, st, nil
}

// burnSink keeps burn's work from being optimised away.
var burnSink uint64

// burn does steps xorshift steps (about a nanosecond each).
func burn(steps int, seed int64) {
	if steps <= 0 {
		return
	}
	x := uint64(seed) | 1
	for range steps {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	burnSink += x
}

// Serial is the reference: one pass over the whole file, one map.
func Serial(path string) (map[int64]Agg, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	rows, err := ReadRange(path, 0, fi.Size())
	if err != nil {
		return nil, err
	}
	agg := map[int64]Agg{}
	for i, k := range rows.Store {
		a := agg[k]
		a.add(Agg{1, rows.Qty[i], rows.Cents[i]})
		agg[k] = a
	}
	return agg, nil
}

// gatherTable collects every rank's owned aggregates on rank 0, as one map
// (parallel.Collect; a key owned by two ranks is an error).
func gatherTable(ctx context.Context, c *comm.Comm, mine map[int64]Agg) (map[int64]Agg, error) {
	return parallel.Collect(ctx, c, mine, 0)
}
