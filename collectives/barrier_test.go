package collectives_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// TestBarrier checks, with every algorithm, that no rank leaves a Barrier
// before every rank has entered it: the ranks of a test share a process,
// so each counts its arrival in a shared counter before the call and
// checks the count after it.
func TestBarrier(t *testing.T) {
	for _, np := range nps(t) {
		t.Run(fmt.Sprintf("np=%d", np), func(t *testing.T) {
			var arrived atomic.Int64
			commtest.Run(t, np, testCfg, func(ctx context.Context, c *comm.Comm) error {
				round := 0
				for name, opts := range sorted(algs("barrier")) {
					for range 3 {
						round++
						arrived.Add(1)
						if err := collectives.Barrier(ctx, c, opts...); err != nil {
							return fmt.Errorf("%s: %w", name, err)
						}
						if got, want := arrived.Load(), int64(round*np); got < want {
							return fmt.Errorf("%s: left barrier %d with %d arrivals, want %d", name, round, got, want)
						}
					}
				}
				return nil
			})
		})
	}
}
