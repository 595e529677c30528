package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// gatherLinear: every rank sends its block straight to root, which posts
// all the receives at once. One step; root's link carries everything.
func gatherLinear[T comm.Elem](ctx context.Context, c *comm.Comm, base int, dst, src []T, root, n int) error {
	p, r := c.Size(), c.Rank()
	if r != root {
		return send(ctx, c, src, root, base)
	}
	reqs := make([]*comm.Request, 0, p-1)
	for i := range p {
		if i != r {
			reqs = append(reqs, comm.Irecv(c, dst[i*n:(i+1)*n], i, base))
		}
	}
	return waitBlocks(ctx, reqs, dst, blocks(p*n, p, n), r)
}
