// Command parmap shows the two classic multiprocessing.Pool.map jobs done
// with gorun's package parallel: the same function over partitions of the
// data (data parallelism), split across ranks and, inside each rank, across
// a pool of pinned worker threads, with the results combined in the
// original order.
//
//   - sum: two ranges of integers (0..99,999 and 100,000..199,999), each
//     summed in parallel; the two sums and their total are printed.
//   - map: f(x) = x*x + 2x + 1 applied to each of 1,000,000 integers. The
//     input lives on rank 0 (as Pool.map's list lives in the parent);
//     parallel.Map scatters it in blocks (or hands out -chunk chunks), maps
//     it, and gathers the results back in order on rank 0.
//
// Both jobs run by default and are checked exactly against closed forms;
// the program exits 1 when a check fails.
//
//	go run ./cmd/gorun -np 4 ./examples/parmap
//	go run ./cmd/gorun -np 2 ./examples/parmap -n 10000000 -workers 1
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/kernels"
	"github.com/gorun-hpc/gorun/parallel"
)

// Params are the sizes of the two jobs.
type Params struct {
	SumN  int64 // length of each of the two ranges summed by the sum job
	MapN  int   // number of integers the map job transforms
	Jobs  string
	Quiet bool // print only the verdict lines
	Chunk int  // > 0: dynamic chunks of this many elements (Pool.map's chunksize)
	// Corrupt makes the last rank spoil one result, to prove the checks
	// catch it (used by the tests).
	Corrupt bool
}

func main() {
	var p Params
	flag.Int64Var(&p.SumN, "sum-n", 100_000, "length of each of the two ranges of the sum job")
	flag.IntVar(&p.MapN, "n", 1_000_000, "number of integers the map job transforms")
	flag.StringVar(&p.Jobs, "jobs", "sum,map", "jobs to run: sum, map or sum,map")
	workers := flag.Int("workers", 0, "pinned worker threads per rank (0: one per CPU the rank may use; -1: no pool, serial inside the rank)")
	flag.IntVar(&p.Chunk, "chunk", 0, "dynamic chunks of this many elements, handed to whichever rank asks (0: one static block per rank)")
	flag.BoolVar(&p.Quiet, "quiet", false, "print only the verdicts")
	flag.BoolVar(&p.Corrupt, "corrupt", false, "spoil one result on purpose (to test the checks)")
	flag.Parse()

	world, err := comm.Init()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var pool *kernels.Pool
	if *workers >= 0 {
		pool, err = kernels.NewPool(kernels.Config{Workers: *workers})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer pool.Close()
	}
	out := io.Discard
	if world.Rank() == 0 {
		out = os.Stdout
	}
	ok, err := Run(context.Background(), world, pool, p, out)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := world.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pool.Close()
	if !ok {
		os.Exit(1)
	}
}

// block returns the half-open slice [lo, hi) of n items that rank r of size
// ranks owns: contiguous blocks whose sizes differ by at most one.
func block(n, size, r int64) (lo, hi int64) {
	q, rem := n/size, n%size
	lo = r*q + min(r, rem)
	hi = lo + q
	if r < rem {
		hi++
	}
	return lo, hi
}

// Run runs the selected jobs on every rank of c and returns the verdict,
// the same on every rank. pool may be nil (serial inside each rank).
func Run(ctx context.Context, c *comm.Comm, pool *kernels.Pool, p Params, out io.Writer) (bool, error) {
	ok := true
	for _, job := range splitJobs(p.Jobs) {
		var good bool
		var err error
		switch job {
		case "sum":
			good, err = sumJob(ctx, c, pool, p, out)
		case "map":
			good, err = mapJob(ctx, c, pool, p, out)
		default:
			return false, fmt.Errorf("parmap: unknown job %q", job)
		}
		if err != nil {
			return false, err
		}
		ok = ok && good
	}
	// Every rank returns rank 0's verdict, so every rank exits alike.
	v := []int64{0}
	if ok {
		v[0] = 1
	}
	if err := collectives.Bcast(ctx, c, v, 0); err != nil {
		return false, err
	}
	return v[0] == 1, nil
}

func splitJobs(s string) []string {
	var jobs []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			if i > start {
				jobs = append(jobs, s[start:i])
			}
			start = i + 1
		}
	}
	return jobs
}

// sumJob is Pool.map(sum, [range(0, N), range(N, 2N)]): each range is cut
// into pieces (four per rank), parallel.MapRange sums the pieces across the
// ranks (each rank's pieces over its pool's workers) and brings the
// partial sums to rank 0 in order, which adds them up per range.
func sumJob(ctx context.Context, c *comm.Comm, pool *kernels.Pool, p Params, out io.Writer) (bool, error) {
	start := time.Now()
	rank, size := c.Rank(), c.Size()
	ranges := [2][2]int64{{0, p.SumN}, {p.SumN, 2 * p.SumN}}
	pieces := 4 * size
	partials, err := parallel.MapRange(ctx, c, 2*pieces, func(i int) (int64, error) {
		rg := ranges[i/pieces]
		lo, hi := block(rg[1]-rg[0], int64(pieces), int64(i%pieces))
		var acc int64
		for x := rg[0] + lo; x < rg[0]+hi; x++ {
			acc += x
		}
		// The last piece is always in the last rank's block.
		if p.Corrupt && rank == size-1 && i == 2*pieces-1 {
			acc++
		}
		return acc, nil
	}, parallel.WithPool(pool), parallel.Chunk(p.Chunk))
	if err != nil {
		return false, err
	}
	if rank != 0 {
		return true, nil
	}
	sums := make([]int64, 2)
	for i, s := range partials {
		sums[i/pieces] += s
	}
	total := sums[0] + sums[1]
	// Closed forms: sum of a..b-1 is (a+b-1)(b-a)/2.
	want := func(a, b int64) int64 { return (a + b - 1) * (b - a) / 2 }
	w0, w1 := want(ranges[0][0], ranges[0][1]), want(ranges[1][0], ranges[1][1])
	if !p.Quiet {
		fmt.Fprintf(out, "sum: range(%d, %d) = %d, range(%d, %d) = %d\n",
			ranges[0][0], ranges[0][1], sums[0], ranges[1][0], ranges[1][1], sums[1])
		fmt.Fprintf(out, "sum: total = %d  (%d ranks × %d workers, %.3f ms)\n",
			total, size, pool.Workers(), ms(time.Since(start)))
	}
	if sums[0] != w0 || sums[1] != w1 {
		fmt.Fprintf(out, "FAILED sum: want %d and %d (total %d)\n", w0, w1, w0+w1)
		return false, nil
	}
	fmt.Fprintf(out, "OK sum: total %d equals the closed form\n", total)
	return true, nil
}

// mapJob is Pool.map(f, xs) with f(x) = x*x + 2x + 1: rank 0 holds xs;
// parallel.Map scatters it in blocks (or, with -chunk, hands out chunks),
// every rank maps its part on its pool, and rank 0 gets the results back in
// the original order.
func mapJob(ctx context.Context, c *comm.Comm, pool *kernels.Pool, p Params, out io.Writer) (bool, error) {
	start := time.Now()
	rank, size := c.Rank(), c.Size()
	n := p.MapN
	var xs []int64
	if rank == 0 {
		xs = make([]int64, n)
		for i := range xs {
			xs[i] = int64(i)
		}
	}
	last := int64(n - 1)
	ys, err := parallel.Map(ctx, c, xs, func(x int64) (int64, error) {
		y := x*x + 2*x + 1
		// The last element is in the last rank's block (static blocks).
		if p.Corrupt && rank == size-1 && x == last {
			y--
		}
		return y, nil
	}, parallel.WithPool(pool), parallel.Chunk(p.Chunk))
	if err != nil {
		return false, err
	}
	if rank != 0 {
		return true, nil
	}
	elapsed := time.Since(start)
	// Check every element and the sum against (x+1)², whose sum over
	// x = 0..n-1 is n(n+1)(2n+1)/6.
	bad := -1
	var sum int64
	for i, y := range ys {
		want := int64(i+1) * int64(i+1)
		if y != want && bad < 0 {
			bad = i
		}
		sum += y
	}
	nn := int64(n)
	wantSum := nn * (nn + 1) * (2*nn + 1) / 6
	if !p.Quiet && n > 0 {
		fmt.Fprintf(out, "map: f(x) = x*x + 2x + 1 over %d integers: f(0..2) = %v … f(%d) = %d, sum %d  (%d ranks × %d workers, %.3f ms)\n",
			n, ys[:min(3, n)], n-1, ys[n-1], sum, size, pool.Workers(), ms(elapsed))
	}
	if bad >= 0 || sum != wantSum || len(ys) != n {
		if bad >= 0 {
			fmt.Fprintf(out, "FAILED map: f(%d) = %d, want %d\n", xs[bad], ys[bad], int64(bad+1)*int64(bad+1))
		} else {
			fmt.Fprintf(out, "FAILED map: sum %d, want %d\n", sum, wantSum)
		}
		return false, nil
	}
	fmt.Fprintf(out, "OK map: all %d results in order and exact\n", n)
	return true, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
