package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"sort"
	"time"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/parallel"
)

// itemResult is what one farm item gives back: its count, who ran it and
// how long it took.
type itemResult struct {
	Item  int
	Count int64
	Rank  int
	Nanos int64
}

// runFarm counts the primes below FarmN in Items work items of uneven cost.
// The dynamic schedule is parallel.MapValue with chunks of one item: rank 0
// hands the next item to whichever rank asks (and runs items itself between
// requests), longest first, so that no long item starts last and sets the
// end. The static schedule is MapValue with one contiguous block of items
// per rank, in their original order, as a naive split of the list does.
func runFarm(ctx context.Context, c *comm.Comm, p Params, out io.Writer) (bool, error) {
	rank, size := c.Rank(), c.Size()
	items := farmItems(p.FarmN, p.Items)
	order := make([]int, len(items))
	for i := range order {
		order[i] = i
	}
	var opts []parallel.MapOption
	switch p.Schedule {
	case "dynamic":
		// Estimated cost: length × √hi for trial division.
		cost := func(i int) float64 {
			return float64(items[i][1]-items[i][0]) * math.Sqrt(float64(items[i][1]))
		}
		sort.SliceStable(order, func(a, b int) bool { return cost(order[a]) > cost(order[b]) })
		opts = append(opts, parallel.Chunk(1))
	case "static":
	default:
		return false, fmt.Errorf("tasks: unknown schedule %q", p.Schedule)
	}
	if err := collectives.Barrier(ctx, c); err != nil {
		return false, err
	}
	start := time.Now()
	var src []int
	if rank == 0 {
		src = order
	}
	res, err := parallel.MapValue(ctx, c, src, func(i int) (itemResult, error) {
		t := time.Now()
		n := countPrimes(items[i][0], items[i][1])
		if p.Corrupt && i == 0 {
			n++
		}
		return itemResult{Item: i, Count: n, Rank: rank, Nanos: int64(time.Since(t))}, nil
	}, opts...)
	if err != nil {
		return false, err
	}
	if rank != 0 {
		return true, nil
	}
	makespan := time.Since(start)

	// Per item: its count, who ran it and how long it took.
	counts := make([]int64, len(items))
	ranBy := make([]int, len(items))
	took := make([]time.Duration, len(items))
	for _, r := range res {
		counts[r.Item], ranBy[r.Item], took[r.Item] = r.Count, r.Rank, time.Duration(r.Nanos)
	}

	// Load per rank, and what the other schedule would have given with the
	// same measured item times.
	busy := make([]time.Duration, size)
	nItems := make([]int, size)
	var total time.Duration
	var primes int64
	for i := range items {
		busy[ranBy[i]] += took[i]
		nItems[ranBy[i]]++
		total += took[i]
		primes += counts[i]
	}
	fmt.Fprintf(out, "farm (%s): %d items of uneven cost (%.2f–%.2f ms each), %d ranks, done in %.1f ms\n",
		p.Schedule, len(items), ms(minDur(took)), ms(maxDur(took)), size, ms(makespan))
	for r := range size {
		fmt.Fprintf(out, "  rank %d: %3d items, busy %7.1f ms\n", r, nItems[r], ms(busy[r]))
	}
	var blockMax time.Duration
	for r := range size {
		var b time.Duration
		for i := len(items) * r / size; i < len(items)*(r+1)/size; i++ {
			b += took[i]
		}
		blockMax = max(blockMax, b)
	}
	fmt.Fprintf(out, "farm: busiest rank %.1f ms vs the ideal %.1f ms (total work / ranks); one static block per rank would give %.1f ms\n",
		ms(maxDur(busy)), ms(total/time.Duration(size)), ms(blockMax))

	want := sieveCount(p.FarmN)
	if primes != want {
		fmt.Fprintf(out, "FAILED farm: %d primes below %d, the sieve says %d\n", primes, p.FarmN, want)
		return false, nil
	}
	fmt.Fprintf(out, "OK farm: %d primes below %d, equal to the sieve\n", primes, p.FarmN)
	return true, nil
}

func maxDur(ds []time.Duration) time.Duration {
	var m time.Duration
	for _, d := range ds {
		m = max(m, d)
	}
	return m
}

func minDur(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	m := ds[0]
	for _, d := range ds {
		m = min(m, d)
	}
	return m
}
