//go:build !linux || gorun_portable

package comm_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// TestShmAbsent checks a build without shared memory (not Linux, or
// -tags gorun_portable): "auto" links every pair by TCP and works, and a
// forced "shm" is a configuration error, at once, wrapping
// ErrInvalidArgument.
func TestShmAbsent(t *testing.T) {
	if comm.ShmAvailable {
		t.Fatal("ShmAvailable in a build without shared memory")
	}
	for _, n := range []int{2, 3, 5} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err := commtest.Start(ctx, n, comm.Config{Transport: comm.TransportShm})
		cancel()
		if !errors.Is(err, comm.ErrInvalidArgument) || !strings.Contains(err.Error(), "no shared memory") {
			t.Errorf("np %d, Transport shm: %v; want a start-up error", n, err)
		}
		commtest.Run(t, n, comm.Config{Transport: comm.TransportAuto}, func(ctx context.Context, c *comm.Comm) error {
			r, size := c.Rank(), c.Size()
			got := make([]int64, 1)
			_, err := comm.Sendrecv(ctx, c, []int64{int64(r)}, (r+1)%size, 3, got, (r+size-1)%size, 3)
			if err == nil && got[0] != int64((r+size-1)%size) {
				t.Errorf("rank %d got %d from its left neighbour", r, got[0])
			}
			return err
		})
	}
}
