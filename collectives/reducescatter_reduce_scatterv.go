package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// reduceScatterv: a binomial reduce of work to rank 0 (in rank order, so
// any op), then rank 0 sends each rank its block. Tags base..base+2.
func reduceScatterv[T comm.Elem](ctx context.Context, c *comm.Comm, base int, dst, work []T, counts, displs []int, op Op[T]) error {
	if c.Size() == 1 {
		copy(dst, work[:counts[0]])
		return nil
	}
	if err := reduceBinomial(ctx, c, base, work, work, op, 0); err != nil {
		return err
	}
	return scattervLinear(ctx, c, base+2, dst, work, counts, displs, 0)
}
