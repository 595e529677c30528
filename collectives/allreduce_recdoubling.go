package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// allreduceRecDoubling: after folding to 2^k ranks, in round j each rank
// exchanges its whole partial result with new rank ^ 2^j and combines
// (lower new rank on the left). log2 p rounds of the whole message (plus
// two for a non-power-of-two p): the latency-optimal choice for small data.
// in is the rank's contribution (dst itself when in place); the first
// combination reads it, so dst needs no copy of it.
func allreduceRecDoubling[T comm.Elem](ctx context.Context, c *comm.Comm, base int, dst, in []T, op Op[T]) (err error) {
	n := len(dst)
	tmp := getBuf[T](n)
	defer func() {
		if err == nil {
			putBuf(tmp)
		}
	}()
	scratch := scratchFor(op, n)
	f, in, err := foldIn(ctx, c, base, dst, in, tmp, scratch, op)
	if err != nil {
		return err
	}
	if f.newrank >= 0 {
		for mask, step := 1, 1; mask < f.pof2; mask, step = mask<<1, step+1 {
			nd := f.newrank ^ mask
			if err := exchange(ctx, c, in, f.realRank(nd), tmp, f.realRank(nd), tag(base, step)); err != nil {
				return err
			}
			if nd < f.newrank {
				combineInto(op, dst, tmp, in, scratch)
			} else {
				combineInto(op, dst, in, tmp, scratch)
			}
			in = dst
		}
	}
	return foldOut(ctx, c, base, dst, f)
}
