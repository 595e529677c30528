package collectives_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// TestUnknownAlgorithmInEnvironment: a name in GORUN_COLL_<COLLECTIVE>
// that the collective does not have is an error on every rank, before any
// communication, and so is one given with WithAlgorithm.
func TestUnknownAlgorithmInEnvironment(t *testing.T) {
	setenv(t, "GORUN_COLL_SCATTER", "no-such-algorithm")
	commtest.Run(t, 2, testCfg, func(ctx context.Context, c *comm.Comm) error {
		err := collectives.Scatter(ctx, c, []int{1}, []int{1, 2}, 0)
		if !errors.Is(err, comm.ErrInvalidArgument) || !strings.Contains(err.Error(), "GORUN_COLL_SCATTER") {
			t.Errorf("rank %d: Scatter with GORUN_COLL_SCATTER=no-such-algorithm: %v, want an invalid argument naming the variable", c.Rank(), err)
		}
		err = collectives.Allreduce(ctx, c, []float64{1}, nil, collectives.Sum[float64](), collectives.InPlace(), collectives.WithAlgorithm("bogus"))
		if !errors.Is(err, comm.ErrInvalidArgument) || !strings.Contains(err.Error(), `"bogus"`) {
			t.Errorf("rank %d: Allreduce with WithAlgorithm(bogus): %v, want an invalid argument naming it", c.Rank(), err)
		}
		return nil
	})
}

func TestEnvironmentForcesAlgorithm(t *testing.T) {
	// Every algorithm forced through the environment gives the same result.
	for _, alg := range collectives.Algorithms("allreduce") {
		t.Run(alg, func(t *testing.T) {
			setenv(t, "GORUN_COLL_ALLREDUCE", alg)
			setenv(t, "GORUN_COLL_SEGMENT", "64")
			commtest.Run(t, 3, testCfg, func(ctx context.Context, c *comm.Comm) error {
				x := make([]int, 500)
				for i := range x {
					x[i] = c.Rank() + i
				}
				if err := collectives.Allreduce(ctx, c, x, nil, collectives.Sum[int](), collectives.InPlace()); err != nil {
					return err
				}
				for i := range x {
					if x[i] != 3+3*i {
						t.Errorf("%s: x[%d] = %d", alg, i, x[i])
						break
					}
				}
				return nil
			})
		})
	}
}

// setenv sets an environment variable for the test, as t.Setenv does, and
// makes the package read its variables again then and after the test.
func setenv(t *testing.T, name, value string) {
	t.Cleanup(collectives.ReloadEnv) // runs after t.Setenv's restore
	t.Setenv(name, value)
	collectives.ReloadEnv()
}
