package collectives_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

func TestProgrammerErrorsPanic(t *testing.T) {
	setenv(t, "GORUN_COLL_SCATTER", "no-such-algorithm")
	commtest.Run(t, 2, testCfg, func(ctx context.Context, c *comm.Comm) error {
		sum := collectives.Sum[float64]()
		for name, f := range map[string]func(){
			"bad root":     func() { collectives.Bcast(ctx, c, []int{1}, 2) },
			"len mismatch": func() { collectives.Allreduce(ctx, c, make([]float64, 3), make([]float64, 4), sum) },
			"unknown alg":  func() { collectives.Allreduce(ctx, c, []float64{1}, nil, sum, collectives.WithAlgorithm("bogus")) },
			"env alg":      func() { collectives.Scatter(ctx, c, []int{1}, []int{1, 2}, 0) },
			"odd minloc":   func() { collectives.Allreduce(ctx, c, make([]float64, 3), nil, collectives.MinLoc[float64]()) },
			"allgather":    func() { collectives.Allgather(ctx, c, make([]int, 3), []int{1}) },
		} {
			func() {
				defer func() {
					v := recover()
					if s, _ := v.(string); !strings.HasPrefix(s, "collectives: ") {
						t.Errorf("rank %d: %s: recovered %v, want a collectives: panic", c.Rank(), name, v)
					}
				}()
				f()
			}()
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
				if err := collectives.Allreduce(ctx, c, x, nil, collectives.Sum[int]()); err != nil {
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
