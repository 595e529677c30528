package collectives

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// A name in the list of algorithms that a collective's dispatch does not
// know (a name added to the list without its case) is an error wrapping
// comm.ErrInvalidArgument on every rank, never a call that does nothing
// and returns nil.
func TestDispatchUnknownAlgorithm(t *testing.T) {
	const bogus algorithm = "no_such_case"
	calls := map[string]func(ctx context.Context, c *comm.Comm, o Option) error{
		"barrier": func(ctx context.Context, c *comm.Comm, o Option) error { return Barrier(ctx, c, o) },
		"bcast": func(ctx context.Context, c *comm.Comm, o Option) error {
			return Bcast(ctx, c, make([]float64, 4), 0, o)
		},
		"reduce": func(ctx context.Context, c *comm.Comm, o Option) error {
			return Reduce(ctx, c, make([]float64, 4), make([]float64, 4), Sum[float64](), 0, o)
		},
		"allreduce": func(ctx context.Context, c *comm.Comm, o Option) error {
			return Allreduce(ctx, c, make([]float64, 4), make([]float64, 4), Sum[float64](), o)
		},
		"allgather": func(ctx context.Context, c *comm.Comm, o Option) error {
			return Allgather(ctx, c, make([]float64, 2*c.Size()), make([]float64, 2), o)
		},
		"alltoall": func(ctx context.Context, c *comm.Comm, o Option) error {
			return Alltoall(ctx, c, make([]float64, 2*c.Size()), make([]float64, 2*c.Size()), o)
		},
		"gather": func(ctx context.Context, c *comm.Comm, o Option) error {
			return Gather(ctx, c, make([]float64, 2*c.Size()), make([]float64, 2), 0, o)
		},
		"scatter": func(ctx context.Context, c *comm.Comm, o Option) error {
			return Scatter(ctx, c, make([]float64, 2), make([]float64, 2*c.Size()), 0, o)
		},
		"reducescatter": func(ctx context.Context, c *comm.Comm, o Option) error {
			return ReduceScatterBlock(ctx, c, make([]float64, 2), make([]float64, 2*c.Size()), Sum[float64](), o)
		},
	}
	for coll, call := range calls {
		t.Run(coll, func(t *testing.T) {
			saved := algorithms[coll]
			algorithms[coll] = append(append([]algorithm(nil), saved...), bogus)
			defer func() { algorithms[coll] = saved }()
			commtest.Run(t, 3, comm.Config{}, func(ctx context.Context, c *comm.Comm) error {
				err := call(ctx, c, WithAlgorithm(string(bogus)))
				if !errors.Is(err, comm.ErrInvalidArgument) {
					return fmt.Errorf("%s forced to a name without a case: %v, want ErrInvalidArgument", coll, err)
				}
				return nil
			})
		})
	}
}
