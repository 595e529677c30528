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
)

const (
	tagResult = 2 // worker → coordinator: {item, count, nanoseconds}; item -1 = "ready"
	tagWork   = 3 // coordinator → worker: {item, lo, hi}; item -1 = "stop"
)

// runFarm counts the primes below FarmN in Items work items of uneven cost.
func runFarm(ctx context.Context, c *comm.Comm, p Params, out io.Writer) (bool, error) {
	rank, size := c.Rank(), c.Size()
	items := farmItems(p.FarmN, p.Items)
	if err := collectives.Barrier(ctx, c); err != nil {
		return false, err
	}
	start := time.Now()

	// Per item: its count, who ran it and how long it took (rank 0 only).
	counts := make([]int64, len(items))
	ranBy := make([]int, len(items))
	took := make([]time.Duration, len(items))

	switch p.Schedule {
	case "dynamic":
		var err error
		if rank == 0 {
			err = coordinate(ctx, c, items, counts, ranBy, took, p.Corrupt)
		} else {
			err = farmWorker(ctx, c, p.Corrupt)
		}
		if err != nil {
			return false, err
		}
	case "static":
		// One contiguous block of items per rank, as a naive split of the
		// list does; results gathered on rank 0.
		lo, hi := len(items)*rank/size, len(items)*(rank+1)/size
		mine := make([]int64, 0, 3*(hi-lo))
		for i := lo; i < hi; i++ {
			t := time.Now()
			n := countPrimes(items[i][0], items[i][1])
			if p.Corrupt && i == len(items)-1 {
				n++
			}
			mine = append(mine, int64(i), n, int64(time.Since(t)))
		}
		var all []int64
		var cnts []int
		if rank == 0 {
			all = make([]int64, 3*len(items))
			cnts = make([]int, size)
			for r := range size {
				cnts[r] = 3 * (len(items)*(r+1)/size - len(items)*r/size)
			}
		}
		if err := collectives.Gatherv(ctx, c, all, cnts, nil, mine, 0); err != nil {
			return false, err
		}
		if rank == 0 {
			for r := range size {
				for i := len(items) * r / size; i < len(items)*(r+1)/size; i++ {
					counts[i], ranBy[i], took[i] = all[3*i+1], r, time.Duration(all[3*i+2])
				}
			}
		}
	default:
		return false, fmt.Errorf("tasks: unknown schedule %q", p.Schedule)
	}
	if rank != 0 {
		return true, nil
	}
	makespan := time.Since(start)

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

// coordinate is rank 0's loop. Rank 0 is both the coordinator and a
// worker, in one goroutine: between slices of its own current item it serves
// every worker message that has arrived (Iprobe, then Recv from the rank the
// probe names), answering each with the next item, or with "stop" when none
// is left. Once it has no item of its own it blocks in a receive from
// AnySource until every other worker has stopped.
func coordinate(ctx context.Context, c *comm.Comm, items [][2]int64, counts []int64, ranBy []int, took []time.Duration, corrupt bool) error {
	// Hand out the items longest first (estimated cost: length × √hi for
	// trial division), so that no long item starts last and sets the end.
	order := make([]int, len(items))
	for i := range order {
		order[i] = i
	}
	cost := func(i int) float64 {
		return float64(items[i][1]-items[i][0]) * math.Sqrt(float64(items[i][1]))
	}
	sort.SliceStable(order, func(a, b int) bool { return cost(order[a]) > cost(order[b]) })

	next, running := 0, c.Size()-1
	msg := make([]int64, 3)
	serve := func(source int) error {
		st, err := comm.Recv(ctx, c, msg, source, tagResult)
		if err != nil {
			return err
		}
		if id := msg[0]; id >= 0 {
			counts[id], ranBy[id], took[id] = msg[1], st.Source, time.Duration(msg[2])
		}
		work := []int64{-1, 0, 0}
		if next < len(items) {
			i := order[next]
			work = []int64{int64(i), items[i][0], items[i][1]}
			next++
		} else {
			running--
		}
		return comm.Send(ctx, c, work, st.Source, tagWork)
	}
	own, lo := -1, int64(0) // rank 0's current item and how far it got
	var ownCount int64
	var ownStart time.Time
	for {
		for running > 0 {
			st, ok, err := c.Iprobe(comm.AnySource, tagResult)
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			if err := serve(st.Source); err != nil {
				return err
			}
		}
		if own < 0 && next < len(items) {
			own = order[next]
			lo, ownCount, ownStart = items[own][0], 0, time.Now()
			next++
		}
		if own >= 0 {
			hi := min(lo+slice, items[own][1])
			ownCount += countPrimes(lo, hi)
			lo = hi
			if lo == items[own][1] {
				if corrupt && own == 0 {
					ownCount++
				}
				counts[own], ranBy[own], took[own] = ownCount, 0, time.Since(ownStart)
				own = -1
			}
			continue
		}
		if running == 0 {
			return nil
		}
		if err := serve(comm.AnySource); err != nil {
			return err
		}
	}
}

// slice is how many numbers rank 0 tests between two looks for messages.
const slice = 1024

// farmWorker runs on ranks 1..size-1: it reports ready, then runs items
// until told to stop, sending each result (which also asks for more work).
func farmWorker(ctx context.Context, c *comm.Comm, corrupt bool) error {
	res := []int64{-1, 0, 0}
	work := make([]int64, 3)
	for {
		if err := comm.Send(ctx, c, res, 0, tagResult); err != nil {
			return err
		}
		if _, err := comm.Recv(ctx, c, work, 0, tagWork); err != nil {
			return err
		}
		if work[0] < 0 {
			return nil
		}
		t := time.Now()
		n := countPrimes(work[1], work[2])
		if corrupt && work[0] == 0 {
			n++
		}
		res = []int64{work[0], n, int64(time.Since(t))}
	}
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
