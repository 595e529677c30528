package kernels_test

import (
	"fmt"

	"github.com/gorun-hpc/gorun/kernels"
)

func ExamplePool_ParallelFor() {
	p, err := kernels.NewPool(kernels.Config{}) // one pinned worker per allowed CPU
	if err != nil {
		panic(err)
	}
	defer p.Close()

	x := kernels.MakeLocal[float64](p, 1000) // first-touched by the workers
	p.ParallelFor(len(x), kernels.Schedule{}, func(lo, hi, _ int) {
		for i := lo; i < hi; i++ {
			x[i] = float64(i)
		}
	})
	sum := kernels.ParallelReduce(p, len(x), kernels.Schedule{Kind: kernels.Guided}, 0.0,
		func(lo, hi int, acc float64) float64 {
			for _, v := range x[lo:hi] {
				acc += v
			}
			return acc
		},
		func(a, b float64) float64 { return a + b })
	fmt.Println(sum) // exact: small integers
	// Output: 499500
}
