package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// reduceBinomial: in round j, relative ranks with bit j set send their
// partial result to the rank 2^j below and drop out; the others combine
// (their own run of ranks on the left). ceil(log2 p) rounds of the whole
// message. acc is the rank's contribution and, on root, the result. A
// non-commutative op uses the tree of rank 0 (so that the runs are in rank
// order) and a last message to root. Tags base and base+1.
func reduceBinomial[T comm.Elem](ctx context.Context, c *comm.Comm, base int, acc []T, op Op[T], root int) (err error) {
	p, r := c.Size(), c.Rank()
	top := root
	if !op.Commutative {
		top = 0
	}
	vr := mod(r-top, p)
	tmp := getBuf[T](len(acc))
	defer func() {
		if err == nil {
			putBuf(tmp)
		}
	}()
	for mask := 1; mask < p; mask <<= 1 {
		if vr&mask != 0 {
			if err := send(ctx, c, acc, mod(vr-mask+top, p), tag(base, 0)); err != nil {
				return err
			}
			break
		}
		if child := vr | mask; child < p {
			if err := recv(ctx, c, tmp, mod(child+top, p), tag(base, 0)); err != nil {
				return err
			}
			op.Fn(acc, tmp)
		}
	}
	if top != root {
		switch r {
		case top:
			return send(ctx, c, acc, root, tag(base, 1))
		case root:
			return recv(ctx, c, acc, top, tag(base, 1))
		}
	}
	return nil
}
