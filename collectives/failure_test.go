package collectives_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// A rank that leaves in the middle of a collective makes the other ranks'
// calls return an error. The ranks talking to it directly fail with
// comm.ErrPeerFinalized; the job is then aborted (as gorun does when a rank
// fails), which releases any rank waiting on a survivor.
func TestRankDiesMidCollective(t *testing.T) {
	type coll struct {
		name string
		run  func(ctx context.Context, c *comm.Comm) error
	}
	big := 5000
	colls := []coll{
		{"allreduce/ring", func(ctx context.Context, c *comm.Comm) error {
			return collectives.Allreduce(ctx, c, make([]float64, big), make([]float64, big), collectives.Sum[float64](), collectives.WithAlgorithm("ring"))
		}},
		{"allreduce/recdoubling", func(ctx context.Context, c *comm.Comm) error {
			return collectives.Allreduce(ctx, c, make([]float64, big), make([]float64, big), collectives.Sum[float64](), collectives.WithAlgorithm("recdoubling"))
		}},
		{"allreduce/reduce_bcast", func(ctx context.Context, c *comm.Comm) error {
			return collectives.Allreduce(ctx, c, make([]float64, big), make([]float64, big), collectives.Sum[float64](), collectives.WithAlgorithm("reduce_bcast"))
		}},
		{"bcast/pipeline", func(ctx context.Context, c *comm.Comm) error {
			return collectives.Bcast(ctx, c, make([]float64, big), 0, collectives.WithAlgorithm("pipeline"), collectives.WithSegmentSize(512))
		}},
		{"barrier", func(ctx context.Context, c *comm.Comm) error { return collectives.Barrier(ctx, c) }},
		{"alltoall/pairwise", func(ctx context.Context, c *comm.Comm) error {
			return collectives.Alltoall(ctx, c, make([]int32, 5*big), make([]int32, 5*big), collectives.WithAlgorithm("pairwise"))
		}},
	}
	for _, cl := range colls {
		t.Run(cl.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			const n, dead = 5, 3
			w, err := commtest.Start(ctx, n, testCfg)
			if err != nil {
				t.Fatal(err)
			}
			errs := make(chan error, n)
			for r := range n {
				if r == dead {
					continue
				}
				go func() { errs <- cl.run(ctx, w.Comms[r]) }()
			}
			go w.Comms[dead].Close()
			// Every survivor either finishes (it needed nothing from the
			// dead rank) or fails; once one has failed the job is aborted,
			// as gorun does, which releases ranks waiting on a survivor
			// that gave up.
			failed := 0
			for range n - 1 {
				select {
				case err := <-errs:
					if err == nil {
						continue
					}
					if failed == 0 {
						t.Logf("first error: %v", err)
						w.Store.Set(ctx, "abort", []byte("rank failed: "+err.Error()))
					}
					failed++
					if !errors.Is(err, comm.ErrPeerFinalized) && !errors.Is(err, comm.ErrAborted) &&
						!errors.Is(err, comm.ErrPeerLost) && !errors.Is(err, comm.ErrCanceled) {
						t.Errorf("unexpected error %v", err)
					}
				case <-time.After(15 * time.Second):
					t.Fatal("a rank hangs after its peer left")
				}
			}
			if failed == 0 {
				t.Fatal("every rank finished a collective whose peer left")
			}
			w.Close()
		})
	}
}
