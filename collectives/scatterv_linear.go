package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// scattervLinear: root sends each rank its block blk[i] of src directly,
// all at once (root's own block is left to the caller).
func scattervLinear[T comm.Elem](ctx context.Context, c *comm.Comm, base int, dst, src []T, blk []span, root int) error {
	p, r := c.Size(), c.Rank()
	if r != root {
		return recv(ctx, c, dst, root, base)
	}
	var reqs []*comm.Request
	for i := range p {
		if i != r {
			reqs = append(reqs, comm.Isend(c, src[blk[i].lo:blk[i].hi], i, base))
		}
	}
	return waitFree(ctx, reqs...)
}
