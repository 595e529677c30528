package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
)

// Agg is the aggregate of one store: number of sales, units and revenue in
// cents. Integer sums are exact in any order, so the distributed result must
// equal the serial one bit for bit.
type Agg struct {
	Count, Qty, Cents int64
}

func (a *Agg) add(b Agg) { a.Count += b.Count; a.Qty += b.Qty; a.Cents += b.Cents }

// owner is the rank that reduces key: a hash partition.
func owner(key int64, size int) int {
	x := uint64(key)
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return int(x % uint64(size))
}

// Stats describe one distributed run, as seen by one rank.
type Stats struct {
	Rows     int64         // rows this rank read
	Received int64         // records (rows or partials) it received in the shuffle
	Read     time.Duration // reading and parsing its byte range
	Shuffle  time.Duration // partitioning, combining and exchanging
	Reduce   time.Duration // aggregating what it received
}

// GroupBy computes the per-store aggregates of the rows of path, whose byte
// range [lo, hi) this rank reads, with the chosen strategy:
//
//	combine: map-side combiner — each rank aggregates its own rows first and
//	         shuffles one partial per (rank, store); skew costs nothing.
//	salt:    rows are shuffled, but the rows of hot keys (found by sampling)
//	         are spread over all ranks; their partials then go to the owner
//	         in a second, small shuffle.
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

	size := c.Size()
	var result map[int64]Agg
	switch mode {
	case "combine":
		local := map[int64]Agg{}
		for i, k := range rows.Store {
			burn(rowCost, k)
			a := local[k]
			a.add(Agg{1, rows.Qty[i], rows.Cents[i]})
			local[k] = a
		}
		recv, err := shufflePartials(ctx, c, local, func(int64) bool { return true })
		if err != nil {
			return nil, st, err
		}
		st.Shuffle = time.Since(t)
		t = time.Now()
		st.Received = int64(len(recv) / 4)
		result = mergePartials(nil, recv)
	case "raw", "salt":
		hot := map[int64]bool{}
		if mode == "salt" && size > 1 {
			if hot, err = hotKeys(ctx, c, rows.Store); err != nil {
				return nil, st, err
			}
		}
		dest := func(i int) int {
			k := rows.Store[i]
			if hot[k] {
				return i % size // the salt: spread the hot key's rows
			}
			return owner(k, size)
		}
		// Pack rows as (store, qty, cents) triples grouped by destination.
		scounts := make([]int, size)
		for i := range rows.Store {
			scounts[dest(i)] += 3
		}
		sdispls := prefix(scounts)
		send := make([]int64, 3*len(rows.Store))
		fill := slices.Clone(sdispls)
		for i := range rows.Store {
			d := dest(i)
			send[fill[d]], send[fill[d]+1], send[fill[d]+2] = rows.Store[i], rows.Qty[i], rows.Cents[i]
			fill[d] += 3
		}
		recv, err := exchange(ctx, c, send, scounts)
		if err != nil {
			return nil, st, err
		}
		st.Shuffle = time.Since(t)
		t = time.Now()
		st.Received = int64(len(recv) / 3)
		agg := map[int64]Agg{}
		for j := 0; j < len(recv); j += 3 {
			burn(rowCost, recv[j])
			a := agg[recv[j]]
			a.add(Agg{1, recv[j+1], recv[j+2]})
			agg[recv[j]] = a
		}
		if len(hot) > 0 {
			// Second stage: partials of the hot keys go to their owners.
			recv, err := shufflePartials(ctx, c, agg, func(k int64) bool { return hot[k] })
			if err != nil {
				return nil, st, err
			}
			for k := range hot {
				delete(agg, k)
			}
			agg = mergePartials(agg, recv)
		}
		result = agg
	default:
		return nil, st, fmt.Errorf("groupby: unknown mode %q (combine, salt or raw)", mode)
	}
	st.Reduce = time.Since(t)
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

// hotKeys finds the keys that hold more than a quarter of a rank's fair share
// of the rows: each rank counts every 16th key of its rows, and the candidate
// keys of all ranks are combined with Allgather.
func hotKeys(ctx context.Context, c *comm.Comm, keys []int64) (map[int64]bool, error) {
	const maxHot = 8
	counts := map[int64]int{}
	sampled := 0
	for i := 0; i < len(keys); i += 16 {
		counts[keys[i]]++
		sampled++
	}
	mine := make([]int64, maxHot)
	for i := range mine {
		mine[i] = -1
	}
	n := 0
	for k, cnt := range counts {
		if n < maxHot && 4*cnt*c.Size() > sampled {
			mine[n] = k
			n++
		}
	}
	all := make([]int64, maxHot*c.Size())
	if err := collectives.Allgather(ctx, c, all, mine); err != nil {
		return nil, err
	}
	hot := map[int64]bool{}
	for _, k := range all {
		if k >= 0 {
			hot[k] = true
		}
	}
	return hot, nil
}

// shufflePartials sends the partial aggregates of the keys that pass keep
// to their owners as (key, count, qty, cents) quadruples and returns what
// this rank received.
func shufflePartials(ctx context.Context, c *comm.Comm, part map[int64]Agg, keep func(int64) bool) ([]int64, error) {
	size := c.Size()
	scounts := make([]int, size)
	for k := range part {
		if keep(k) {
			scounts[owner(k, size)] += 4
		}
	}
	fill := prefix(scounts)
	send := make([]int64, fill[size-1]+scounts[size-1])
	for k, a := range part {
		if keep(k) {
			d := owner(k, size)
			copy(send[fill[d]:], []int64{k, a.Count, a.Qty, a.Cents})
			fill[d] += 4
		}
	}
	return exchange(ctx, c, send, scounts)
}

func mergePartials(into map[int64]Agg, recv []int64) map[int64]Agg {
	if into == nil {
		into = map[int64]Agg{}
	}
	for j := 0; j < len(recv); j += 4 {
		a := into[recv[j]]
		a.add(Agg{recv[j+1], recv[j+2], recv[j+3]})
		into[recv[j]] = a
	}
	return into
}

// exchange is the shuffle: every rank tells every other how much it will
// send (Alltoall of the counts), then the data moves with Alltoallv, as
// plain int64 memory.
func exchange(ctx context.Context, c *comm.Comm, send []int64, scounts []int) ([]int64, error) {
	size := c.Size()
	sc := make([]int64, size)
	for i, n := range scounts {
		sc[i] = int64(n)
	}
	rc := make([]int64, size)
	if err := collectives.Alltoall(ctx, c, rc, sc); err != nil {
		return nil, err
	}
	rcounts := make([]int, size)
	total := 0
	for i, n := range rc {
		rcounts[i] = int(n)
		total += int(n)
	}
	recv := make([]int64, total)
	if err := collectives.Alltoallv(ctx, c, recv, rcounts, prefix(rcounts), send, scounts, prefix(scounts)); err != nil {
		return nil, err
	}
	return recv, nil
}

func prefix(counts []int) []int {
	d := make([]int, len(counts))
	for i := 1; i < len(counts); i++ {
		d[i] = d[i-1] + counts[i-1]
	}
	return d
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

// gatherTable collects every rank's owned aggregates on rank 0, as one map.
func gatherTable(ctx context.Context, c *comm.Comm, mine map[int64]Agg) (map[int64]Agg, error) {
	flat := make([]int64, 0, 4*len(mine))
	for k, a := range mine {
		flat = append(flat, k, a.Count, a.Qty, a.Cents)
	}
	var counts []int64
	if c.Rank() == 0 {
		counts = make([]int64, c.Size())
	}
	if err := collectives.Gather(ctx, c, counts, []int64{int64(len(flat))}, 0); err != nil {
		return nil, err
	}
	var all []int64
	var cnt []int
	if c.Rank() == 0 {
		cnt = make([]int, c.Size())
		total := 0
		for i, n := range counts {
			cnt[i] = int(n)
			total += int(n)
		}
		all = make([]int64, total)
	}
	if err := collectives.Gatherv(ctx, c, all, cnt, nil, flat, 0); err != nil {
		return nil, err
	}
	if c.Rank() != 0 {
		return nil, nil
	}
	table := map[int64]Agg{}
	for j := 0; j < len(all); j += 4 {
		if _, dup := table[all[j]]; dup {
			return nil, fmt.Errorf("groupby: key %d owned by two ranks", all[j])
		}
		table[all[j]] = Agg{all[j+1], all[j+2], all[j+3]}
	}
	return table, nil
}
