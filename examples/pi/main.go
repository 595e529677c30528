// Command pi estimates π by Monte Carlo: every rank throws darts at the unit
// square, and the counts that land inside the quarter circle are combined with
// an Allreduce (so every rank knows the estimate and the verdict).
//
// It checks the estimate against math.Pi: a dart lands inside with
// probability p = π/4, so the estimate 4·hits/n has standard error
// 4·sqrt(p(1-p)/n); the run passes when the error is within five standard
// errors (a false alarm about once in 1.7 million runs). It prints a line
// starting "VERDICT PASS" or "VERDICT FAIL" and exits 1 on failure.
//
//	go run ./cmd/gorun -np 4 ./examples/pi
//	go run ./cmd/gorun -np 4 ./examples/pi -n 100000000
//	go run ./examples/pi            (one rank)
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"time"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"

	"github.com/gorun-hpc/gorun/examples/internal/exmain"
)

// Params of a run.
type Params struct {
	N    int64  // darts in total, over all ranks
	Seed uint64 // each rank draws from the stream (Seed, rank)
	// Want is the value the estimate is checked against: math.Pi, unless
	// set otherwise to exercise the failure path.
	Want float64
}

// Result of a run, the same on every rank.
type Result struct {
	Pi      float64
	Hits    int64
	StdErr  float64 // standard error of the estimate
	Pass    bool    // |Pi - π| <= 5 StdErr
	Elapsed time.Duration
}

func main() {
	var p Params
	flag.Int64Var(&p.N, "n", 10_000_000, "darts in total, over all ranks")
	flag.Uint64Var(&p.Seed, "seed", 2026, "random seed (each rank derives its own stream)")
	flag.Float64Var(&p.Want, "want", math.Pi, "value the estimate is checked against (change it to see the failure path)")
	flag.Parse()
	exmain.Main("pi", func(ctx context.Context, c *comm.Comm, out io.Writer) (bool, error) {
		r, err := Run(ctx, c, p, out)
		return r.Pass, err
	})
}

// Run throws this rank's share of p.N darts, sums the hits over c with
// Allreduce and reports the estimate and verdict to out (pass io.Discard on
// all ranks but one).
func Run(ctx context.Context, c *comm.Comm, p Params, out io.Writer) (Result, error) {
	if p.N <= 0 {
		return Result{}, fmt.Errorf("-n must be positive, got %d", p.N)
	}
	if err := collectives.Barrier(ctx, c); err != nil {
		return Result{}, err
	}
	start := time.Now()
	rank, size := int64(c.Rank()), int64(c.Size())
	mine := p.N / size
	if rank < p.N%size {
		mine++
	}
	rng := rand.New(rand.NewPCG(p.Seed, uint64(rank)))
	var hits int64
	for range mine {
		x, y := rng.Float64(), rng.Float64()
		if x*x+y*y < 1 {
			hits++
		}
	}
	total := []int64{0}
	if err := collectives.Allreduce(ctx, c, total, []int64{hits}, collectives.Sum[int64]()); err != nil {
		return Result{}, err
	}
	r := Result{Hits: total[0], Elapsed: time.Since(start)}
	r.Pi = 4 * float64(r.Hits) / float64(p.N)
	q := math.Pi / 4
	r.StdErr = 4 * math.Sqrt(q*(1-q)/float64(p.N))
	if p.Want == 0 {
		p.Want = math.Pi
	}
	errAbs := math.Abs(r.Pi - p.Want)
	r.Pass = errAbs <= 5*r.StdErr
	fmt.Fprintf(out, "pi ≈ %.8f  error %.2e  (%d darts on %d ranks)\n", r.Pi, errAbs, p.N, size)
	fmt.Fprintf(out, "elapsed %.6f s\n", r.Elapsed.Seconds())
	if r.Pass {
		fmt.Fprintf(out, "VERDICT PASS: error %.2e within 5 standard errors (%.2e)\n", errAbs, 5*r.StdErr)
	} else {
		fmt.Fprintf(out, "VERDICT FAIL: error %.2e exceeds 5 standard errors (%.2e)\n", errAbs, 5*r.StdErr)
	}
	return r, nil
}
