package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/parallel"
)

// owner is the rank that reduces word: parallel's hash partition.
func owner(word string, size int) int { return parallel.HashPartition(word, size) }

// assign deals files to ranks, largest first to the least loaded rank, so
// ranks get about the same number of bytes. Every rank computes the same
// assignment from the same file sizes.
func assign(files []string, sizes []int64, nranks int) [][]string {
	order := make([]int, len(files))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case sizes[a] > sizes[b]:
			return -1
		case sizes[a] < sizes[b]:
			return 1
		}
		return 0
	})
	load := make([]int64, nranks)
	out := make([][]string, nranks)
	for _, i := range order {
		r := 0
		for j := range load {
			if load[j] < load[r] {
				r = j
			}
		}
		out[r] = append(out[r], files[i])
		load[r] += sizes[i]
	}
	return out
}

// Run counts the words of the input across the ranks of c and returns rank
// 0's verdict on every rank.
func Run(ctx context.Context, c *comm.Comm, p Params, out io.Writer) (bool, error) {
	rank, size := c.Rank(), c.Size()
	files := p.Files
	if len(files) == 0 {
		dir := p.Dir
		if dir == "" {
			dir = p.Corpus.DefaultDir()
		}
		// Rank 0 writes the corpus; the others wait for its word.
		var names []string
		var genErr error
		if rank == 0 {
			names, genErr = Generate(p.Corpus, dir)
			if genErr != nil {
				names = nil
			}
		}
		if err := collectives.BcastValue(ctx, c, &names, 0); err != nil {
			return false, err
		}
		if genErr != nil {
			return false, genErr
		}
		if names == nil {
			return false, errors.New("wordcount: rank 0 could not write the corpus")
		}
		files = names
	}
	sizes := make([]int64, len(files))
	var totalBytes int64
	for i, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			return false, err
		}
		sizes[i] = fi.Size()
		totalBytes += fi.Size()
	}
	mine := assign(files, sizes, size)[rank]

	if err := collectives.Barrier(ctx, c); err != nil {
		return false, err
	}
	start := time.Now()
	// Map, with the combiner built in: one count per distinct word.
	local := map[string]int64{}
	var words int64
	for _, f := range mine {
		n, err := countWords(f, local)
		if err != nil {
			return false, err
		}
		words += n
	}
	mapped := time.Since(start)
	// Shuffle and reduce: parallel.GroupBy sends every (word, count) to the
	// rank that owns the word (strings travel msgpack-encoded) and sums the
	// counts there, like Spark's reduceByKey.
	pairs := make([]parallel.KV[string, int64], 0, len(local))
	for w, n := range local {
		pairs = append(pairs, parallel.KV[string, int64]{Key: w, Val: n})
	}
	owned, err := parallel.GroupBy(ctx, c, pairs,
		func(kv parallel.KV[string, int64]) string { return kv.Key },
		func(kv parallel.KV[string, int64]) int64 { return kv.Val },
		parallel.Sum[int64]())
	if err != nil {
		return false, err
	}
	shuffled := time.Since(start)
	if p.Corrupt && rank == size-1 {
		for w := range owned {
			owned[w]++
			break
		}
	}
	elapsed := time.Since(start)

	// Gather the owned counts and per-rank times on rank 0.
	var all []map[string]int64
	var times [][3]int64
	if rank == 0 {
		all = make([]map[string]int64, size)
		times = make([][3]int64, size)
	}
	if err := collectives.GatherValue(ctx, c, all, owned, 0); err != nil {
		return false, err
	}
	if err := collectives.GatherValue(ctx, c, times, [3]int64{int64(mapped), int64(shuffled), int64(elapsed)}, 0); err != nil {
		return false, err
	}
	ok := true
	if rank == 0 {
		counts := map[string]int64{}
		var total int64
		for r, m := range all {
			for w, n := range m {
				if owner(w, size) != r {
					fmt.Fprintf(out, "FAILED wordcount: %q reduced on rank %d, owner is %d\n", w, r, owner(w, size))
					ok = false
				}
				counts[w] = n
				total += n
			}
		}
		var slowest [3]int64
		for _, t := range times {
			for i := range t {
				slowest[i] = max(slowest[i], t[i])
			}
		}
		fmt.Fprintf(out, "wordcount: %d files, %.1f MB, %d words, %d distinct, on %d ranks\n",
			len(files), float64(totalBytes)/1e6, total, len(counts), size)
		fmt.Fprintf(out, "wordcount: map %.1f ms, +shuffle and reduce %.1f ms, total %.1f ms (slowest rank)\n",
			float64(slowest[0])/1e6, float64(slowest[1])/1e6, float64(slowest[2])/1e6)
		top := topWords(counts, p.Top)
		for i, w := range top {
			fmt.Fprintf(out, "  %2d. %-12s %d\n", i+1, w, counts[w])
		}
		if p.Check {
			t := time.Now()
			serial := map[string]int64{}
			for _, f := range files {
				if _, err := countWords(f, serial); err != nil {
					return false, err
				}
			}
			fmt.Fprintf(out, "serial count (one process): %.1f ms\n", float64(time.Since(t).Microseconds())/1000)
			if diff := compare(counts, serial); diff != "" {
				fmt.Fprintf(out, "FAILED wordcount: %s\n", diff)
				ok = false
			} else if ok {
				fmt.Fprintf(out, "OK wordcount: %d distinct words, every count equals the serial count\n", len(serial))
			}
		}
	}
	v := []int64{0}
	if ok {
		v[0] = 1
	}
	if err := collectives.Bcast(ctx, c, v, 0); err != nil {
		return false, err
	}
	return v[0] == 1, nil
}

func topWords(counts map[string]int64, n int) []string {
	words := make([]string, 0, len(counts))
	for w := range counts {
		words = append(words, w)
	}
	slices.SortFunc(words, func(a, b string) int {
		if counts[a] != counts[b] {
			if counts[a] > counts[b] {
				return -1
			}
			return 1
		}
		if a < b {
			return -1
		}
		return 1
	})
	return words[:min(n, len(words))]
}

func compare(got, want map[string]int64) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d distinct words, serial has %d", len(got), len(want))
	}
	for w, n := range want {
		if got[w] != n {
			return fmt.Sprintf("%q counted %d times, serial says %d", w, got[w], n)
		}
	}
	return ""
}
