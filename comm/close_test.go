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
				for r, c := range w.Comms {
					go func() { errs <- fmt.Errorf("rank %d: %w", r, c.Close()) }()
				}
				for range n {
					select {
					case err := <-errs:
						msg := err.Error()
						large := size > 64<<10
						switch {
						case !errors.Is(err, comm.ErrDropped):
							t.Errorf("Close: %v, want ErrDropped", err)
						case !strings.Contains(msg, "1 receive still pending"):
							t.Errorf("Close: %v: the pending receive is not counted", err)
						case large && !strings.Contains(msg, "1 send that no receive matched"):
							t.Errorf("Close: %v: the withdrawn send is not counted", err)
						case !large && !strings.Contains(msg, "1 message that arrived but was never received"):
							t.Errorf("Close: %v: the unreceived message is not counted", err)
						}
					case <-ctx.Done():
						t.Fatalf("Close did not return within the deadline")
					}
				}
				for r := range n {
					if _, err := recvs[r].Wait(ctx); !errors.Is(err, comm.ErrClosed) {
						t.Errorf("rank %d: pending receive: %v, want ErrClosed", r, err)
					}
					_, err := sends[r].Wait(ctx)
					if size > 64<<10 && !errors.Is(err, comm.ErrClosed) {
						t.Errorf("rank %d: unmatched large send: %v, want ErrClosed", r, err)
					}
					if size <= 64<<10 && err != nil {
						t.Errorf("rank %d: eager send: %v", r, err)
					}
				}
			})
		}
	}
}
