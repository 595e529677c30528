// Command dsde measures the dynamic sparse data exchange
// (collectives.SparseExchange: Issend, Mprobe/Mrecv, Ibarrier) against the
// usual way of exchanging when receivers do not know their senders: an
// Alltoall of counts, then an Alltoallv of the data. Run under gorun:
//
//	gorun -np 4 ./bench/dsde -n 64 -iters 300
//
// Each iteration every rank sends -n int64s to each of 3 ranks other than
// itself chosen at random (all of them when there are fewer; new choices
// every iteration, the same for both methods), and the received data of
// the two methods are checked to be the same. The methods alternate in
// -reps rounds of -iters iterations each, a Barrier before each round;
// a round's time is the slowest rank's, and the median over rounds is
// printed, in µs per exchange.
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"time"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
)

func main() {
	n := flag.Int("n", 64, "int64s per message")
	iters := flag.Int("iters", 200, "exchanges per round")
	reps := flag.Int("reps", 5, "rounds per method; the median is printed")
	fanout := flag.Int("targets", 3, "ranks each rank sends to")
	flag.Parse()
	if *n < 0 || *iters < 1 || *reps < 1 || *fanout < 1 {
		fmt.Fprintln(os.Stderr, "dsde: -n must be >= 0 and -iters, -reps, -targets >= 1")
		os.Exit(2)
	}
	c, err := comm.Init()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer c.Close()
	if err := run(context.Background(), c, *n, *iters, *reps, *fanout); err != nil {
		fmt.Fprintf(os.Stderr, "dsde: rank %d: %v\n", c.Rank(), err)
		c.Abort(1)
	}
}

// targets is rank r's destinations in iteration it: k distinct ranks
// other than r (all of them when there are fewer than k).
func targets(p, r, it, k int) []int {
	others := make([]int, 0, p-1)
	for i := range p {
		if i != r {
			others = append(others, i)
		}
	}
	rng := rand.New(rand.NewPCG(uint64(r), uint64(it)))
	rng.Shuffle(len(others), func(i, j int) { others[i], others[j] = others[j], others[i] })
	return others[:min(k, len(others))]
}

func run(ctx context.Context, c *comm.Comm, n, iters, reps, k int) error {
	p, r := c.Size(), c.Rank()
	payload := func(it, d int) []int64 {
		out := make([]int64, n)
		for j := range out {
			out[j] = int64(r*1_000_000 + d*1000 + it + j)
		}
		return out
	}
	// One exchange each way, returning what arrived ordered by source.
	sparse := func(alg string) func(it int) ([][]int64, error) {
		opts := []collectives.Option{collectives.WithAlgorithm(alg)}
		return func(it int) ([][]int64, error) {
			dests := targets(p, r, it, k)
			data := make([][]int64, len(dests))
			for i, d := range dests {
				data[i] = payload(it, d)
			}
			got, err := collectives.SparseExchange(ctx, c, dests, data, opts...)
			if err != nil {
				return nil, err
			}
			out := make([][]int64, 0, len(got))
			for _, m := range got {
				out = append(out, m.Data)
			}
			return out, nil
		}
	}
	scounts, rcounts := make([]int, p), make([]int, p)
	dense := func(it int) ([][]int64, error) {
		dests := targets(p, r, it, k)
		clear(scounts)
		for _, d := range dests {
			scounts[d] = n
		}
		if err := collectives.Alltoall(ctx, c, rcounts, scounts); err != nil {
			return nil, err
		}
		src := make([]int64, 0, n*len(dests))
		for d := range p {
			if scounts[d] > 0 {
				src = append(src, payload(it, d)...)
			}
		}
		total := 0
		for _, x := range rcounts {
			total += x
		}
		dst := make([]int64, total)
		if err := collectives.Alltoallv(ctx, c, dst, rcounts, nil, src, scounts, nil); err != nil {
			return nil, err
		}
		var out [][]int64
		off := 0
		for s := range p {
			if rcounts[s] > 0 {
				out = append(out, dst[off:off+rcounts[s]])
				off += rcounts[s]
			}
		}
		return out, nil
	}
	methods := []struct {
		name string
		f    func(int) ([][]int64, error)
	}{{"alltoall counts + alltoallv", dense}}
	for _, a := range collectives.Algorithms("sparseexchange") {
		methods = append(methods, struct {
			name string
			f    func(int) ([][]int64, error)
		}{"SparseExchange " + a, sparse(a)})
	}
	// Check once that all give the same data.
	for it := range 3 {
		want, err := dense(it)
		if err != nil {
			return err
		}
		for _, m := range methods[1:] {
			got, err := m.f(it)
			if err != nil {
				return err
			}
			if !slices.EqualFunc(got, want, slices.Equal[[]int64]) {
				return fmt.Errorf("iteration %d: %s and Alltoall+Alltoallv received different data", it, m.name)
			}
		}
	}
	times := make([][]float64, len(methods))
	for rep := range reps {
		for mi, m := range methods {
			if err := collectives.Barrier(ctx, c); err != nil {
				return err
			}
			t0 := time.Now()
			for it := range iters {
				if _, err := m.f(rep*iters + it); err != nil {
					return fmt.Errorf("%s: %w", m.name, err)
				}
			}
			el := []float64{float64(time.Since(t0).Microseconds()) / float64(iters)}
			if err := collectives.Allreduce(ctx, c, el, nil, collectives.Max[float64](), collectives.InPlace()); err != nil {
				return err
			}
			times[mi] = append(times[mi], el[0])
		}
	}
	if r == 0 {
		fmt.Printf("# np %d, %d int64s (%d B) to each of %d ranks, %d exchanges a round, median of %d rounds\n",
			p, n, 8*n, min(k, p-1), iters, reps)
		for mi, m := range methods {
			slices.Sort(times[mi])
			fmt.Printf("%-34s %10.1f µs/exchange\n", m.name, times[mi][len(times[mi])/2])
		}
	}
	return nil
}
