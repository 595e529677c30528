package collectives_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// TestSmallCallsDoNotAllocate checks that 8-byte Bcast and Allreduce calls
// recycle their requests, scratch buffers and unexpected-message records:
// before, each rank allocated 3-5 objects per call, which the garbage
// collector then had to find. A Bcast root running ahead can still make
// its receivers hold many unexpected messages at once, whose records the
// pool then has to grow to (at most one per receiver and call: 2/3 here).
func TestSmallCallsDoNotAllocate(t *testing.T) {
	if raceOn {
		t.Skip("the race detector makes sync.Pool drop items")
	}
	const np, calls = 3, 2000
	for _, coll := range []string{"bcast", "allreduce"} {
		t.Run(coll, func(t *testing.T) {
			var before, after runtime.MemStats
			commtest.Run(t, np, comm.Config{}, func(ctx context.Context, c *comm.Comm) error {
				x := []float32{1, 2}
				call := func() error {
					if coll == "bcast" {
						return collectives.Bcast(ctx, c, x, 0)
					}
					return collectives.Allreduce(ctx, c, x, nil, collectives.Max[float32](), collectives.InPlace())
				}
				for range 100 { // warm the pools
					if err := call(); err != nil {
						return err
					}
				}
				if err := collectives.Barrier(ctx, c); err != nil {
					return err
				}
				if c.Rank() == 0 {
					runtime.ReadMemStats(&before)
				}
				// Every rank starts its calls after the reading.
				if err := collectives.Barrier(ctx, c); err != nil {
					return err
				}
				for range calls {
					if err := call(); err != nil {
						return err
					}
				}
				if err := collectives.Barrier(ctx, c); err != nil {
					return err
				}
				if c.Rank() == 0 {
					runtime.ReadMemStats(&after)
				}
				return nil
			})
			per := float64(after.Mallocs-before.Mallocs) / (np * calls)
			t.Logf("%s: %.3f allocations per rank and call", coll, per)
			if per >= 1 {
				t.Errorf("%s: %.2f allocations per rank and call, want < 1", coll, per)
			}
		})
	}
}
