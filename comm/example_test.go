package comm_test

import (
	"context"
	"fmt"
	"time"

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

// A token goes once around a ring of four ranks; each rank adds its rank
// number to it.
func Example() {
	ranks(4, func(ctx context.Context, c *comm.Comm) (string, error) {
		r, p := c.Rank(), c.Size()
		next, prev := (r+1)%p, (r+p-1)%p
		token := []int{0}
		if r == 0 {
			if err := comm.Send(ctx, c, token, next, 0); err != nil {
				return "", err
			}
		}
		if _, err := comm.Recv(ctx, c, token, prev, 0); err != nil {
			return "", err
		}
		got := token[0]
		if r != 0 {
			token[0] += r
			if err := comm.Send(ctx, c, token, next, 0); err != nil {
				return "", err
			}
		}
		return fmt.Sprintf("rank %d got %d from rank %d", r, got, prev), nil
	})
	// Output:
	// rank 0 got 6 from rank 3
	// rank 1 got 0 from rank 0
	// rank 2 got 1 from rank 1
	// rank 3 got 3 from rank 2
}

// Non-blocking calls: every rank posts a receive from each neighbour and
// a send to each, then waits for all four requests.
func ExampleWaitAll() {
	ranks(3, func(ctx context.Context, c *comm.Comm) (string, error) {
		r, p := c.Rank(), c.Size()
		left, right := (r+p-1)%p, (r+1)%p
		fromLeft, fromRight := make([]float64, 2), make([]float64, 2)
		mine := []float64{float64(r), float64(10 * r)}
		err := comm.WaitAll(ctx,
			comm.Irecv(c, fromLeft, left, 1),
			comm.Irecv(c, fromRight, right, 2),
			comm.Isend(c, mine, right, 1),
			comm.Isend(c, mine, left, 2),
		)
		return fmt.Sprintf("rank %d: left %v, right %v", r, fromLeft, fromRight), err
	})
	// Output:
	// rank 0: left [2 20], right [1 10]
	// rank 1: left [0 0], right [2 20]
	// rank 2: left [1 10], right [0 0]
}

// Any Go value goes through msgpack with SendValue and RecvValue; a
// receive from AnySource reports the sender in its Status.
func ExampleSendValue() {
	type job struct {
		Name  string
		Sizes []int
	}
	ranks(2, func(ctx context.Context, c *comm.Comm) (string, error) {
		if c.Rank() == 1 {
			return "rank 1 sent", comm.SendValue(ctx, c, job{"fft", []int{64, 128}}, 0, 7)
		}
		var j job
		st, err := comm.RecvValue(ctx, c, &j, comm.AnySource, 7)
		return fmt.Sprintf("rank 0 got %+v from rank %d", j, st.Source), err
	})
	// Output:
	// rank 0 got {Name:fft Sizes:[64 128]} from rank 1
	// rank 1 sent
}

// Split makes a communicator per colour; ranks are numbered by key, then
// by rank in the parent.
func ExampleComm_Split() {
	ranks(5, func(ctx context.Context, c *comm.Comm) (string, error) {
		half, err := c.Split(ctx, c.Rank()%2, 0)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("world rank %d: rank %d of %d", c.Rank(), half.Rank(), half.Size()), nil
	})
	// Output:
	// world rank 0: rank 0 of 3
	// world rank 1: rank 0 of 2
	// world rank 2: rank 1 of 3
	// world rank 3: rank 1 of 2
	// world rank 4: rank 2 of 3
}
