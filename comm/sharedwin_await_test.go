package comm_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// A token goes round the ranks of a window many times, each rank waiting
// with Await for its left neighbour's store and telling it with Notify:
// some waits poll, some (the token is slow to come round at np 8 on few
// CPUs, and every tenth lap pauses) sleep and are woken.
func TestSharedWindowAwait(t *testing.T) {
	if !comm.ShmAvailable {
		t.Skip("no shared memory in this build")
	}
	for _, n := range []int{1, 2, 3, 5, 8} {
		t.Run(fmt.Sprintf("np=%d", n), func(t *testing.T) {
			commtest.Run(t, n, commtest.WithTransport(testCfg, comm.TransportShm), func(ctx context.Context, c *comm.Comm) error {
				w, err := c.AllocateShared(ctx, 8)
				if err != nil {
					return err
				}
				defer w.Free()
				me, p := c.Rank(), c.Size()
				word := func(r int) *uint64 {
					b, _ := w.Shared(r)
					return (*uint64)(unsafe.Pointer(&b[0]))
				}
				left, mine := word((me+p-1)%p), word(me)
				const laps = 200
				for lap := uint64(1); lap <= laps; lap++ {
					if me != 0 || lap > 1 {
						want := lap
						if me == 0 {
							want = lap - 1
						}
						if err := w.Await(ctx, func() bool { return atomic.LoadUint64(left) >= want }); err != nil {
							return fmt.Errorf("lap %d: %w", lap, err)
						}
					}
					if lap%10 == 0 && me == 0 {
						time.Sleep(2 * time.Millisecond) // a slow rank: the others sleep
					}
					atomic.StoreUint64(mine, lap)
					w.Notify()
				}
				return w.Fence(ctx)
			})
		})
	}
}

// Await returns ctx's error when ctx ends (polling or asleep), ErrClosed
// after Free, and the peer's state when a rank of the window leaves.
func TestSharedWindowAwaitEnds(t *testing.T) {
	if !comm.ShmAvailable {
		t.Skip("no shared memory in this build")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w, err := commtest.Start(ctx, 3, commtest.WithTransport(testCfg, comm.TransportShm))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	wins := make([]*comm.SharedWindow, 3)
	errs := make(chan error, 3)
	for r := range 3 {
		go func() {
			var err error
			wins[r], err = w.Comms[r].AllocateShared(ctx, 8)
			errs <- err
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	never := func() bool { return false }
	short, scancel := context.WithTimeout(ctx, 200*time.Millisecond)
	err = wins[0].Await(short, never)
	scancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Await on a condition that never holds: %v, want a deadline error", err)
	}
	done := make(chan error, 1)
	go func() { done <- wins[1].Await(ctx, never) }()
	go w.Comms[2].Close()
	select {
	case err := <-done:
		if !errors.Is(err, comm.ErrPeerFinalized) && !errors.Is(err, comm.ErrPeerLost) {
			t.Fatalf("Await while a rank leaves: %v, want ErrPeerFinalized or ErrPeerLost", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Await hangs after a rank of the window left")
	}
	wins[0].Free()
	if err := wins[0].Await(ctx, never); !errors.Is(err, comm.ErrClosed) {
		t.Fatalf("Await after Free: %v, want ErrClosed", err)
	}
	wins[0].Notify() // does nothing after Free
}
