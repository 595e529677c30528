package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// gathervLinear: every rank sends its block straight to root, which posts
// all the receives at once, into the blocks blk of dst (used on root
// only; root's own block is already in place).
func gathervLinear[T comm.Elem](ctx context.Context, c *comm.Comm, base int, dst []T, blk []span, src []T, root int) error {
	p, r := c.Size(), c.Rank()
	if r != root {
		return send(ctx, c, src, root, base)
	}
	var reqs []*comm.Request
	for i := range p {
		if i != r {
			reqs = append(reqs, comm.Irecv(c, dst[blk[i].lo:blk[i].hi], i, base))
		}
	}
	return waitBlocks(ctx, reqs, dst, blk, r)
}
