package comm_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// TestStartRequest: a request completed by its owner works with Test,
// Wait, WaitAny and WaitAll beside point-to-point requests, reports the
// owner's error unwrapped, cannot be cancelled, and only the first
// completion counts.
func TestStartRequest(t *testing.T) {
	commtest.Run(t, 2, comm.Config{}, func(ctx context.Context, c *comm.Comm) error {
		r, complete := comm.StartRequest(c)
		if done, _, _ := r.Test(); done {
			return errors.New("done before completion")
		}
		short, cancel := context.WithTimeout(ctx, 5*time.Millisecond)
		defer cancel()
		if _, err := r.Wait(short); !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("wait before completion: %v", err)
		}
		if r.Cancel() {
			return errors.New("cancelled")
		}
		recv := comm.Irecv(c, []int{0}, 1-c.Rank(), 0)
		boom := errors.New("boom")
		go func() { complete(boom); complete(nil) }()
		if i, _, err := comm.WaitAny(ctx, nil, r); i != 1 || err != boom {
			return fmt.Errorf("WaitAny: %d %v, want 1 and the owner's error", i, err)
		}
		if err := comm.Send(ctx, c, []int{1}, 1-c.Rank(), 0); err != nil {
			return err
		}
		if err := comm.WaitAll(ctx, recv, r); err != boom {
			return fmt.Errorf("WaitAll: %v", err)
		}
		r2, complete2 := comm.StartRequest(c)
		complete2(nil)
		if _, err := r2.Wait(ctx); err != nil {
			return err
		}
		r2.Free()
		return nil
	})
}

// ExampleStartRequest: an operation run by the program itself (here a
// goroutine that sums) gets a Request that is waited on together with a
// point-to-point receive.
func ExampleStartRequest() {
	lines, err := commtest.Lines(2, comm.Config{}, time.Minute, func(ctx context.Context, c *comm.Comm) (string, error) {
		r := c.Rank()
		sum := 0
		req, complete := comm.StartRequest(c)
		go func() {
			for i := range 101 {
				sum += i
			}
			complete(nil)
		}()
		other := []int{0}
		recv := comm.Irecv(c, other, 1-r, 0)
		if err := comm.Send(ctx, c, []int{10 * r}, 1-r, 0); err != nil {
			return "", err
		}
		if err := comm.WaitAll(ctx, req, recv); err != nil {
			return "", err
		}
		return fmt.Sprintf("rank %d: sum %d, other %d", r, sum, other[0]), nil
	})
	if err != nil {
		panic(err)
	}
	for _, l := range lines {
		fmt.Println(l)
	}
	// Output:
	// rank 0: sum 5050, other 10
	// rank 1: sum 5050, other 0
}
