package comm_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// TestCompletionByTests completes every request with the non-blocking
// tests alone (Test, TestAny, TestAll, Iprobe), never Wait, as a program
// that polls between pieces of work does: each rank sends every other
// rank an eager and a rendezvous message, takes the receives as TestAny
// reports them (each exactly once), finishes the sends with TestAll, and
// probes for a last message with Iprobe.
func TestCompletionByTests(t *testing.T) {
	for _, tr := range commtest.Transports {
		for _, n := range []int{1, 2, 3, 5, 8} {
			t.Run(fmt.Sprintf("%s/np=%d", tr, n), func(t *testing.T) {
				commtest.Run(t, n, commtest.WithTransport(testCfg, tr), func(ctx context.Context, c *comm.Comm) error {
					return completeByTests(ctx, c)
				})
			})
		}
	}
}

func completeByTests(ctx context.Context, c *comm.Comm) error {
	r, n := c.Rank(), c.Size()
	const small, large = 3, 5000 // testCfg.EagerLimit is 1 KiB: the large ones go by rendezvous
	var sends, recvs []*comm.Request
	got := make([][]int32, 0, 2*n)
	for p := range n {
		if p == r {
			continue
		}
		for _, size := range []int{small, large} {
			in := make([]int32, size)
			got = append(got, in)
			recvs = append(recvs, comm.Irecv(c, in, p, size))
			out := make([]int32, size)
			for i := range out {
				out[i] = int32(r*1000 + i)
			}
			sends = append(sends, comm.Isend(c, out, p, size))
		}
	}
	seen := make([]bool, len(recvs))
	for left := len(recvs); left > 0; {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("rank %d: %d receives left: %w", r, left, err)
		}
		i, ok, st, err := comm.TestAny(recvs...)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if seen[i] {
			return fmt.Errorf("rank %d: TestAny reported request %d twice", r, i)
		}
		seen[i] = true
		recvs[i] = nil
		left--
		for k, v := range got[i] {
			if v != int32(st.Source*1000+k) {
				return fmt.Errorf("rank %d: message from %d, element %d: %d", r, st.Source, k, v)
			}
		}
	}
	if i, ok, _, _ := comm.TestAny(recvs...); i != -1 || !ok {
		return fmt.Errorf("rank %d: TestAny of nothing: %d, %v; want -1, true", r, i, ok)
	}
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("rank %d: sends: %w", r, err)
		}
		done, err := comm.TestAll(sends...)
		if err != nil {
			return err
		}
		if done {
			break
		}
	}
	// A last message round the ring, found by Iprobe and received by Test.
	req := comm.Isend(c, []int32{int32(r)}, (r+1)%n, 99)
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("rank %d: probe: %w", r, err)
		}
		_, ok, err := c.Iprobe(comm.AnySource, 99)
		if err != nil {
			return err
		}
		if ok {
			break
		}
	}
	last := []int32{-1}
	rr := comm.Irecv(c, last, (r+n-1)%n, 99)
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("rank %d: last receive: %w", r, err)
		}
		done, _, err := rr.Test()
		if err != nil {
			return err
		}
		if done {
			break
		}
	}
	if last[0] != int32((r+n-1)%n) {
		return fmt.Errorf("rank %d: last message %d, want %d", r, last[0], (r+n-1)%n)
	}
	for {
		done, _, err := req.Test()
		if err != nil || done {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}
