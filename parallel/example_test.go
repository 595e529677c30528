package parallel_test

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
	"github.com/gorun-hpc/gorun/parallel"
)

// world runs f on n in-process ranks (real loopback TCP), as gorun -np n
// would run a program; a real program calls comm.Init instead.
func world(n int, f func(ctx context.Context, c *comm.Comm) error) {
	ctx, cancel := context.WithTimeout(context.Background(), commtest.DefaultTimeout)
	defer cancel()
	w, err := commtest.Start(ctx, n, comm.Config{})
	if err != nil {
		panic(err)
	}
	defer w.Close()
	var wg sync.WaitGroup
	for _, c := range w.Comms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx, c); err != nil {
				fmt.Println("rank", c.Rank(), err)
			}
		}()
	}
	wg.Wait()
}

// Pool.map(f, xs) over 3 ranks: rank 0 holds the input and gets the
// results in order.
func ExampleMap() {
	world(3, func(ctx context.Context, c *comm.Comm) error {
		var xs []int64
		if c.Rank() == 0 {
			xs = []int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
		}
		ys, err := parallel.Map(ctx, c, xs, func(x int64) (int64, error) { return x*x + 2*x + 1, nil },
			parallel.Chunk(2)) // chunksize=2: dynamic chunks
		if c.Rank() == 0 {
			fmt.Println(ys, err)
		}
		return err
	})
	// Output: [1 4 9 16 25 36 49 64 81 100] <nil>
}

// executor.submit, as_completed and executor.map: rank 0 submits, ranks
// 1 and 2 serve.
func ExampleExecutor() {
	world(3, func(ctx context.Context, c *comm.Comm) error {
		reg := parallel.NewRegistry() // the same on every rank
		cube := parallel.Register(reg, "cube", func(_ context.Context, x int) (int, error) { return x * x * x, nil })
		ex, err := parallel.NewExecutor(ctx, c, reg, parallel.ExecutorConfig{})
		if err != nil {
			return err
		}
		if ex.IsClient() {
			var fs []*parallel.Future[int]
			for x := range 4 {
				f, err := parallel.Submit(ctx, ex, cube, x)
				if err != nil {
					return err
				}
				fs = append(fs, f)
			}
			var done []int
			for f, err := range parallel.AsCompleted(ctx, fs) {
				if err != nil {
					return err
				}
				v, _ := f.Wait(ctx)
				done = append(done, v)
			}
			slices.Sort(done) // completion order varies
			fmt.Println("as completed:", done)
			ordered, err := parallel.MapTasks(ctx, ex, cube, []int{5, 4, 3})
			fmt.Println("map:", ordered, err)
		}
		return ex.Shutdown(ctx, parallel.Drain)
	})
	// Output:
	// as completed: [0 1 8 27]
	// map: [125 64 27] <nil>
}

// df.groupby("year").age.mean() over 3 ranks, each holding a part of the
// table; the skewed year is combined on the map side.
func ExampleGroupBy() {
	type athlete struct{ Year, Age int32 }
	world(3, func(ctx context.Context, c *comm.Comm) error {
		part := []athlete{{1996, 20 + int32(c.Rank())}, {1996, 30}, {2000, 25 + int32(c.Rank())}}
		means, err := parallel.GroupBy(ctx, c, part,
			func(a athlete) int32 { return a.Year }, func(a athlete) int32 { return a.Age }, parallel.Mean[int32]())
		if err != nil {
			return err
		}
		all, err := parallel.Collect(ctx, c, means, 0)
		if c.Rank() == 0 {
			for _, y := range []int32{1996, 2000} {
				fmt.Printf("%d: mean age %.2f over %d\n", y, all[y].Value(), all[y].N)
			}
		}
		return err
	})
	// Output:
	// 1996: mean age 25.50 over 6
	// 2000: mean age 26.00 over 3
}

// A table held as columns, like a dataframe: the combiner is one loop over
// the key and value columns.
func ExampleGroupByColumns() {
	world(2, func(ctx context.Context, c *comm.Comm) error {
		years := []int32{1996, 1996, 2000}
		ages := []int32{20 + int32(c.Rank()), 30, 25}
		means, err := parallel.GroupByColumns(ctx, c, years, ages, parallel.Mean[int32]())
		if err != nil {
			return err
		}
		all, err := parallel.Collect(ctx, c, means, 0)
		if c.Rank() == 0 {
			for _, y := range []int32{1996, 2000} {
				fmt.Printf("%d: mean age %.2f over %d\n", y, all[y].Value(), all[y].N)
			}
		}
		return err
	})
	// Output:
	// 1996: mean age 25.25 over 4
	// 2000: mean age 25.00 over 2
}
