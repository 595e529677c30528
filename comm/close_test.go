package comm_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// TestCloseDropsUnmatched has every rank send a message to the next one
// that nobody receives, and post a receive that nothing matches, then
// Close: Close must return in bounded time on every rank, fail the
// pending requests with ErrClosed, and say what it dropped.
func TestCloseDropsUnmatched(t *testing.T) {
	for _, size := range []int{100, 1 << 20} {
		for _, n := range []int{1, 2, 3, 5} {
			t.Run(fmt.Sprintf("size=%d/np=%d", size, n), func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				w, err := commtest.Start(ctx, n, comm.Config{})
				if err != nil {
					t.Fatal(err)
				}
				sends := make([]*comm.Request, n)
				recvs := make([]*comm.Request, n)
				for r, c := range w.Comms {
					sends[r] = comm.Isend(c, make([]byte, size), (r+1)%n, 7)
					recvs[r] = comm.Irecv(c, make([]byte, 8), comm.AnySource, 99)
				}
				errs := make(chan error, n)
				for _, c := range w.Comms {
					go func() { errs <- c.Close() }()
				}
				closeErrs := make([]error, n)
				for range n {
					select {
					case <-errs:
					case <-ctx.Done():
						t.Fatalf("Close did not return within the deadline")
					}
				}
				for r, c := range w.Comms {
					closeErrs[r] = c.Close() // Close returns the same error every time
				}
				large := size > 64<<10
				for r := range n {
					if _, err := recvs[r].Wait(ctx); !errors.Is(err, comm.ErrClosed) {
						t.Errorf("rank %d: pending receive: %v, want ErrClosed", r, err)
					}
					_, serr := sends[r].Wait(ctx)
					// A large send is withdrawn by Close, or fails with
					// ErrPeerFinalized when its receiver finished closing
					// before this rank's Close began (it then was no
					// longer pending at Close).
					finalized := large && n > 1 && errors.Is(serr, comm.ErrPeerFinalized)
					if large && !errors.Is(serr, comm.ErrClosed) && !finalized {
						t.Errorf("rank %d: unmatched large send: %v, want ErrClosed or ErrPeerFinalized", r, serr)
					}
					if !large && serr != nil {
						t.Errorf("rank %d: eager send: %v", r, serr)
					}
					err := closeErrs[r]
					msg := fmt.Sprint(err)
					switch {
					case !errors.Is(err, comm.ErrDropped):
						t.Errorf("rank %d: Close: %v, want ErrDropped", r, err)
					case !strings.Contains(msg, "1 receive still pending"):
						t.Errorf("rank %d: Close: %v: the pending receive is not counted", r, err)
					case large && !finalized && !strings.Contains(msg, "1 send that no receive matched"):
						t.Errorf("rank %d: Close: %v: the withdrawn send is not counted", r, err)
					case !large && !strings.Contains(msg, "1 message that arrived but was never received"):
						t.Errorf("rank %d: Close: %v: the unreceived message is not counted", r, err)
					}
				}
			})
		}
	}
}
