package collectives_test

import (
	"context"
	"fmt"
	"time"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// ExampleIbarrier: each rank announces that it is ready with an Ibarrier
// and keeps working (here: receiving its neighbour's value) until every
// rank has.
func ExampleIbarrier() {
	lines, err := commtest.Lines(3, comm.Config{}, time.Minute, func(ctx context.Context, c *comm.Comm) (string, error) {
		r, p := c.Rank(), c.Size()
		bar := collectives.Ibarrier(ctx, c)
		got := []int{0}
		if _, err := comm.Sendrecv(ctx, c, []int{r}, (r+1)%p, 0, got, (r+p-1)%p, 0); err != nil {
			return "", err
		}
		if _, err := bar.Wait(ctx); err != nil {
			return "", err
		}
		return fmt.Sprintf("rank %d heard %d", r, got[0]), nil
	})
	if err != nil {
		panic(err)
	}
	for _, l := range lines {
		fmt.Println(l)
	}
	// Output:
	// rank 0 heard 2
	// rank 1 heard 0
	// rank 2 heard 1
}

// ExampleNeighborAllgather: on a 2×2 periodic grid every rank gathers the
// numbers of its neighbours, dimension by dimension, -1 then +1.
func ExampleNeighborAllgather() {
	lines, err := commtest.Lines(4, comm.Config{}, time.Minute, func(ctx context.Context, c *comm.Comm) (string, error) {
		grid, err := collectives.NewCart(ctx, c, []int{2, 2}, []bool{true, true})
		if err != nil {
			return "", err
		}
		got := make([]int, 4)
		if err := collectives.NeighborAllgather(ctx, grid, got, []int{c.Rank()}); err != nil {
			return "", err
		}
		return fmt.Sprint(c.Rank(), got), nil
	})
	if err != nil {
		panic(err)
	}
	for _, l := range lines {
		fmt.Println(l)
	}
	// Output:
	// 0 [2 2 1 1]
	// 1 [3 3 0 0]
	// 2 [0 0 3 3]
	// 3 [1 1 2 2]
}

// ExampleReduceValue folds a value that is not a number, the longest word,
// to rank 0 (mpi4py's comm.reduce with a function).
func ExampleReduceValue() {
	lines, err := commtest.Lines(3, comm.Config{}, time.Minute, func(ctx context.Context, c *comm.Comm) (string, error) {
		words := []string{"gather", "reduce", "neighbourhood"}
		longest := func(a, b string) string {
			if len(b) > len(a) {
				return b
			}
			return a
		}
		var s string
		if err := collectives.ReduceValue(ctx, c, &s, words[c.Rank()], longest, 0); err != nil {
			return "", err
		}
		return fmt.Sprintf("rank %d: %q", c.Rank(), s), nil
	})
	if err != nil {
		panic(err)
	}
	for _, l := range lines {
		fmt.Println(l)
	}
	// Output:
	// rank 0: "neighbourhood"
	// rank 1: ""
	// rank 2: ""
}

// ExampleWithAsyncProgress starts the sum of each rank's contribution,
// works meanwhile, and waits for it before reading the result; with
// WithAsyncProgress(true) the operation holds one extra P, so it advances
// beside the work even with GOMAXPROCS=1.
func ExampleWithAsyncProgress() {
	lines, err := commtest.Lines(3, comm.Config{}, time.Minute, func(ctx context.Context, c *comm.Comm) (string, error) {
		sum := make([]int, 2)
		req := collectives.Iallreduce(ctx, c, sum, []int{c.Rank(), 10}, collectives.Sum[int](), collectives.WithAsyncProgress(true))
		work := 0
		for i := range 1000 {
			work += i
		}
		if _, err := req.Wait(ctx); err != nil {
			return "", err
		}
		return fmt.Sprint(c.Rank(), sum, work), nil
	})
	if err != nil {
		panic(err)
	}
	for _, l := range lines {
		fmt.Println(l)
	}
	// Output:
	// 0 [3 30] 499500
	// 1 [3 30] 499500
	// 2 [3 30] 499500
}
