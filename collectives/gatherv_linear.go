package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// gathervLinear: every rank sends its block straight to root, which posts
// all the receives at once.
func gathervLinear[T comm.Elem](ctx context.Context, c *comm.Comm, base int, dst []T, counts, displs []int, src []T, root int) error {
	p, r := c.Size(), c.Rank()
	if r != root {
		return send(ctx, c, src, root, base)
	}
	checkLen("Gatherv", "counts", len(counts), p)
	if displs == nil {
		displs = packedDispls(counts)
	}
	checkLen("Gatherv", "displs", len(displs), p)
	if src != nil {
		checkLen("Gatherv", "src", len(src), counts[r])
		copy(dst[displs[r]:displs[r]+counts[r]], src)
	}
	var reqs []*comm.Request
	for i := range p {
		if i != r {
			reqs = append(reqs, comm.Irecv(c, dst[displs[i]:displs[i]+counts[i]], i, base))
		}
	}
	return waitFree(ctx, reqs...)
}
