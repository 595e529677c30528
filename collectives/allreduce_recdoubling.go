package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// allreduceRecDoubling: after folding to 2^k ranks, in round j each rank
// exchanges its whole partial result with new rank ^ 2^j and combines
// (lower new rank on the left). log2 p rounds of the whole message (plus
// two for a non-power-of-two p): the latency-optimal choice for small data.
func allreduceRecDoubling[T comm.Elem](ctx context.Context, c *comm.Comm, base int, dst []T, op Op[T]) (err error) {
	n := len(dst)
	tmp := getBuf[T](n)
	defer func() {
		if err == nil {
			putBuf(tmp)
		}
	}()
	scratch := scratchFor(op, n)
	f, err := foldIn(ctx, c, base, dst, tmp, scratch, op)
	if err != nil {
		return err
	}
	if f.newrank >= 0 {
		for mask, step := 1, 1; mask < f.pof2; mask, step = mask<<1, step+1 {
			nd := f.newrank ^ mask
			if err := exchange(ctx, c, dst, f.realRank(nd), tmp, f.realRank(nd), tag(base, step)); err != nil {
				return err
			}
			if nd < f.newrank {
				applyLeft(op, dst, tmp, scratch)
			} else {
				op.Fn(dst, tmp)
			}
		}
	}
	return foldOut(ctx, c, base, dst, f)
}
