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
	blk := make([]span, len(counts))
	for i := range blk {
		blk[i] = span{displs[i], displs[i] + counts[i]}
	}
	if err := scattervLinear(ctx, c, base+2, dst, work, blk, 0); err != nil {
		return err
	}
	if c.Rank() == 0 {
		copy(dst, work[blk[0].lo:blk[0].hi])
	}
	return nil
}
