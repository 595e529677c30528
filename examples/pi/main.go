// Command pi estimates π by Monte Carlo: every rank throws darts at the unit
// square, and the counts inside the quarter circle are summed across ranks.
// It checks its estimate against math.Pi within five standard errors and
// exits 1 when the check fails.
//
//	go run ./cmd/gorun -np 4 ./examples/pi -n 20000000
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"time"

	"github.com/gorun-hpc/gorun/comm"
)

func main() {
	n := flag.Int64("n", 10_000_000, "darts in total, over all ranks")
	seed := flag.Uint64("seed", 2026, "random seed (each rank derives its own stream)")
	flag.Parse()
	world, err := comm.Init()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ok, err := run(context.Background(), world, *n, *seed)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := world.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if !ok {
		os.Exit(1)
	}
}

func run(ctx context.Context, c *comm.Comm, n int64, seed uint64) (bool, error) {
	start := time.Now()
	rank, size := int64(c.Rank()), int64(c.Size())
	mine := n / size
	if rank < n%size {
		mine++
	}
	rng := rand.New(rand.NewPCG(seed, uint64(rank)))
	var hits int64
	for range mine {
		x, y := rng.Float64(), rng.Float64()
		if x*x+y*y < 1 {
			hits++
		}
	}
	// Sum the hits on rank 0 (a reduction written with point-to-point
	// calls: this example needs nothing but package comm).
	if rank != 0 {
		return true, comm.Send(ctx, c, []int64{hits}, 0, 0)
	}
	total := hits
	buf := []int64{0}
	for r := 1; r < int(size); r++ {
		if _, err := comm.Recv(ctx, c, buf, comm.AnySource, 0); err != nil {
			return false, err
		}
		total += buf[0]
	}
	pi := 4 * float64(total) / float64(n)
	// Each dart is a Bernoulli trial with p = π/4.
	p := math.Pi / 4
	stderr := 4 * math.Sqrt(p*(1-p)/float64(n))
	errAbs := math.Abs(pi - math.Pi)
	fmt.Printf("pi ≈ %.8f  (error %.2e, %d darts on %d ranks, %.3fs)\n", pi, errAbs, n, size, time.Since(start).Seconds())
	if errAbs > 5*stderr {
		fmt.Printf("FAILED: error exceeds 5 standard errors (%.2e)\n", 5*stderr)
		return false, nil
	}
	fmt.Printf("OK: within 5 standard errors (%.2e)\n", 5*stderr)
	return true, nil
}
