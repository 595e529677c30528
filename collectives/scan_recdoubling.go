package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// scanRecDoubling: each rank keeps partial, the reduction of the aligned
// run of 2^j ranks around it seen so far. In round j it exchanges partial
// with rank ^ 2^j (when that exists); a partner below comes first in rank
// order, so its partial is combined on the left into both partial and the
// result. ceil(log2 p) rounds. dst holds the rank's own contribution on
// entry and the inclusive prefix on return.
func scanRecDoubling[T comm.Elem](ctx context.Context, c *comm.Comm, base int, dst []T, op Op[T]) error {
	return prefixRecDoubling(ctx, c, base, dst, dst, op, true)
}

// exscanRecDoubling is scanRecDoubling without the rank's own
// contribution in the result: it starts empty and rank 0 never fills it.
func exscanRecDoubling[T comm.Elem](ctx context.Context, c *comm.Comm, base int, dst, src []T, op Op[T]) error {
	return prefixRecDoubling(ctx, c, base, dst, src, op, false)
}

// prefixRecDoubling runs the rounds with partial starting as a pooled copy
// of own (the rank's contribution; own may be dst).
func prefixRecDoubling[T comm.Elem](ctx context.Context, c *comm.Comm, base int, dst, own []T, op Op[T], have bool) (err error) {
	p, r := c.Size(), c.Rank()
	n := len(dst)
	partial := getBuf[T](n)
	copy(partial, own)
	tmp := getBuf[T](n)
	defer func() {
		if err == nil {
			putBuf(partial)
			putBuf(tmp)
		}
	}()
	scratch := scratchFor(op, n)
	for mask, step := 1, 0; mask < p; mask, step = mask<<1, step+1 {
		peer := r ^ mask
		if peer >= p {
			continue
		}
		if err := exchange(ctx, c, partial, peer, tmp, peer, tag(base, step)); err != nil {
			return err
		}
		if peer > r {
			op.Fn(partial, tmp)
			continue
		}
		applyLeft(op, partial, tmp, scratch)
		if have {
			applyLeft(op, dst, tmp, scratch)
		} else {
			copy(dst, tmp)
			have = true
		}
	}
	return nil
}
