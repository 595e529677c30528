package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// scattervLinear: root sends each rank its block directly, all at once.
func scattervLinear[T comm.Elem](ctx context.Context, c *comm.Comm, base int, dst, src []T, counts, displs []int, root int) error {
	p, r := c.Size(), c.Rank()
	if r != root {
		return recv(ctx, c, dst, root, base)
	}
	checkLen("Scatterv", "counts", len(counts), p)
	if displs == nil {
		displs = packedDispls(counts)
	}
	checkLen("Scatterv", "displs", len(displs), p)
	if dst != nil {
		checkLen("Scatterv", "dst", len(dst), counts[r])
		copy(dst, src[displs[r]:displs[r]+counts[r]])
	}
	var reqs []*comm.Request
	for i := range p {
		if i != r {
			reqs = append(reqs, comm.Isend(c, src[displs[i]:displs[i]+counts[i]], i, base))
		}
	}
	return waitFree(ctx, reqs...)
}
