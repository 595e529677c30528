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

// TestSelfSendLarge: a large send to self waits for its receive, as one
// to a peer does, and is neither reported done nor buffered before.
func TestSelfSendLarge(t *testing.T) {
	const size = 64 << 20
	for _, n := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("np=%d", n), func(t *testing.T) {
			commtest.Run(t, n, comm.Config{}, func(ctx context.Context, c *comm.Comm) error {
				ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
				defer cancel()
				me := c.Rank()
				buf := make([]byte, size)
				buf[0], buf[size-1] = 1, 2
				tctx, tcancel := context.WithTimeout(ctx, 50*time.Millisecond)
				err := comm.Send(tctx, c, buf, me, 1)
				tcancel()
				if !errors.Is(err, context.DeadlineExceeded) {
					return fmt.Errorf("blocking send to self with no receive: %v, want a deadline error", err)
				}
				if _, ok, _ := c.Iprobe(me, 1); ok {
					return errors.New("the withdrawn send to self is still there")
				}
				s := comm.Isend(c, buf, me, 2)
				if done, _, _ := s.Test(); done {
					return errors.New("Isend to self completed before a receive took it")
				}
				if st, ok, _ := c.Iprobe(me, 2); !ok || st.Bytes != size {
					return fmt.Errorf("Iprobe: %+v %v", st, ok)
				}
				got := make([]byte, size)
				if _, err := comm.Recv(ctx, c, got, me, 2); err != nil {
					return err
				}
				if got[0] != 1 || got[size-1] != 2 {
					return errors.New("wrong data")
				}
				if _, err := s.Wait(ctx); err != nil {
					return err
				}
				// Receive first: the send finds it and completes at once.
				r := comm.Irecv(c, got, me, 3)
				if err := comm.Send(ctx, c, buf, me, 3); err != nil {
					return err
				}
				_, err = r.Wait(ctx)
				return err
			})
		})
	}
}

// TestSelfSendWithdrawnAgain: a request recycled after a withdrawn send to
// self starts afresh; a withdrawal once left its mark on the next send
// that got the same memory, which then was "withdrawn" without leaving the
// queue.
func TestSelfSendWithdrawnAgain(t *testing.T) {
	commtest.Run(t, 1, comm.Config{EagerLimit: 1 << 10}, func(ctx context.Context, c *comm.Comm) error {
		buf := make([]byte, 4<<10)
		done, cancel := context.WithCancel(ctx)
		cancel()
		for i := range 50 {
			err := comm.Send(done, c, buf, 0, i)
			if !errors.Is(err, context.Canceled) {
				return fmt.Errorf("send %d to self with no receive: %v, want a cancellation", i, err)
			}
			if _, ok, _ := c.Iprobe(0, i); ok {
				return fmt.Errorf("send %d: the withdrawn send to self is still there", i)
			}
		}
		return nil
	})
}

// TestSelfSendEagerWindow: small sends to self are bounded by the eager
// window, as to a peer: past it, they wait for their receives.
func TestSelfSendEagerWindow(t *testing.T) {
	const count, size = 2000, 1 << 10 // 2000 × (1 KiB + 64) is over the 1 MiB window
	commtest.Run(t, 1, comm.Config{}, func(ctx context.Context, c *comm.Comm) error {
		reqs := make([]*comm.Request, count)
		for i := range reqs {
			b := make([]int32, size/4)
			b[0] = int32(i)
			reqs[i] = comm.Isend(c, b, 0, 4)
		}
		done := 0
		for _, r := range reqs {
			if ok, _, _ := r.Test(); ok {
				done++
			}
		}
		if done == count {
			return fmt.Errorf("all %d sends to self completed with no receive: buffered without bound", count)
		}
		got := make([]int32, size/4)
		for i := range count {
			if _, err := comm.Recv(ctx, c, got, 0, 4); err != nil {
				return err
			}
			if got[0] != int32(i) {
				return fmt.Errorf("message %d arrived as %d", i, got[0])
			}
		}
		return comm.WaitAll(ctx, reqs...)
	})
}
