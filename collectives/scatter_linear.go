package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// scatterLinear: root sends every block directly, all at once.
func scatterLinear[T comm.Elem](ctx context.Context, c *comm.Comm, base int, dst, src []T, root, n int) error {
	p, r := c.Size(), c.Rank()
	if r != root {
		return recv(ctx, c, dst, root, base)
	}
	reqs := make([]*comm.Request, 0, p-1)
	for i := range p {
		if i != r {
			reqs = append(reqs, comm.Isend(c, src[i*n:(i+1)*n], i, base))
		}
	}
	return waitFree(ctx, reqs...)
}
