package collectives_test

import (
	"context"
	"fmt"
	"time"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// ranks runs f on every rank of an in-process world of n ranks (connected
// over loopback TCP by commtest, as gorun's ranks are over the network)
// and prints the line each rank returns, in rank order. Under gorun the
// body of f is the whole program: c is comm.Init's communicator.
func ranks(n int, f func(ctx context.Context, c *comm.Comm) (string, error)) {
	lines, err := commtest.Lines(n, comm.Config{}, 30*time.Second, f)
	if err != nil {
		fmt.Println(err)
	}
	for _, l := range lines {
		fmt.Println(l)
	}
}

// Every rank contributes a vector; every rank gets the element-wise sum.
func ExampleAllreduce() {
	ranks(4, func(ctx context.Context, c *comm.Comm) (string, error) {
		r := float64(c.Rank())
		src := []float64{1, r, r * r}
		dst := make([]float64, len(src))
		err := collectives.Allreduce(ctx, c, dst, src, collectives.Sum[float64]())
		return fmt.Sprintf("rank %d: %v", c.Rank(), dst), err
	})
	// Output:
	// rank 0: [4 6 14]
	// rank 1: [4 6 14]
	// rank 2: [4 6 14]
	// rank 3: [4 6 14]
}

// The root's buffer is copied into every rank's.
func ExampleBcast() {
	ranks(3, func(ctx context.Context, c *comm.Comm) (string, error) {
		buf := make([]int32, 3)
		if c.Rank() == 2 {
			copy(buf, []int32{7, 8, 9})
		}
		err := collectives.Bcast(ctx, c, buf, 2)
		return fmt.Sprintf("rank %d: %v", c.Rank(), buf), err
	})
	// Output:
	// rank 0: [7 8 9]
	// rank 1: [7 8 9]
	// rank 2: [7 8 9]
}

// Gather puts rank i's block at dst[i*n:(i+1)*n] on the root; the other
// ranks' dst is not used.
func ExampleGather() {
	ranks(3, func(ctx context.Context, c *comm.Comm) (string, error) {
		r := c.Rank()
		src := []int{r, 10 * r}
		var dst []int
		if r == 0 {
			dst = make([]int, 2*c.Size())
		}
		err := collectives.Gather(ctx, c, dst, src, 0)
		return fmt.Sprintf("rank %d: %v", r, dst), err
	})
	// Output:
	// rank 0: [0 0 1 10 2 20]
	// rank 1: []
	// rank 2: []
}

// Scan gives rank i the reduction of ranks 0..i; Exscan of ranks 0..i-1
// (rank 0's dst is left as it was).
func ExampleScan() {
	ranks(4, func(ctx context.Context, c *comm.Comm) (string, error) {
		src := []int{c.Rank() + 1}
		in, ex := []int{0}, []int{0}
		if err := collectives.Scan(ctx, c, in, src, collectives.Sum[int]()); err != nil {
			return "", err
		}
		err := collectives.Exscan(ctx, c, ex, src, collectives.Sum[int]())
		return fmt.Sprintf("rank %d: scan %d, exscan %d", c.Rank(), in[0], ex[0]), err
	})
	// Output:
	// rank 0: scan 1, exscan 0
	// rank 1: scan 3, exscan 1
	// rank 2: scan 6, exscan 3
	// rank 3: scan 10, exscan 6
}

// An algorithm can be forced per call (or with GORUN_COLL_ALLREDUCE=ring
// in the environment); every algorithm gives the same result, up to the
// rounding of floating-point sums.
func ExampleWithAlgorithm() {
	fmt.Println(collectives.Algorithms("allreduce"))
	ranks(3, func(ctx context.Context, c *comm.Comm) (string, error) {
		dst := make([]int, 4)
		src := []int{c.Rank(), 1, 2, 3}
		err := collectives.Allreduce(ctx, c, dst, src, collectives.Sum[int](), collectives.WithAlgorithm("ring"))
		return fmt.Sprintf("rank %d: %v", c.Rank(), dst), err
	})
	// Output:
	// [recdoubling rabenseifner ring reduce_bcast hierarchical shared]
	// rank 0: [3 3 6 9]
	// rank 1: [3 3 6 9]
	// rank 2: [3 3 6 9]
}

// Values of any type go through msgpack: here each rank's name reaches
// every rank.
func ExampleAllgatherValue() {
	ranks(3, func(ctx context.Context, c *comm.Comm) (string, error) {
		names := make([]string, c.Size())
		err := collectives.AllgatherValue(ctx, c, names, fmt.Sprintf("worker-%d", c.Rank()))
		return fmt.Sprintf("rank %d: %q", c.Rank(), names), err
	})
	// Output:
	// rank 0: ["worker-0" "worker-1" "worker-2"]
	// rank 1: ["worker-0" "worker-1" "worker-2"]
	// rank 2: ["worker-0" "worker-1" "worker-2"]
}
