package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// allreduceReduceBcast: a binomial Reduce to rank 0 followed by a binomial
// Bcast from it. 2 ceil(log2 p) rounds, but only 2(p-1) messages in all
// (recursive doubling sends p log2 p): on an oversubscribed host, where
// every message costs the receiver a wake-up, fewer messages can beat
// fewer rounds. Rank 0 computes the result, so every rank gets bitwise the
// same one, and the binomial Reduce keeps rank order for any op. in is the
// rank's contribution (dst itself when in place), read by the Reduce.
func allreduceReduceBcast[T comm.Elem](ctx context.Context, c *comm.Comm, base int, dst, in []T, op Op[T]) error {
	if err := reduceBinomial(ctx, c, base, dst, in, op, 0); err != nil {
		return err
	}
	return bcastBinomial(ctx, c, tag(base, 2), dst, 0)
}
