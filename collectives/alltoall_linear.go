package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// alltoallLinear: every receive and every send is posted at once (sends in
// the pairwise order rank+1, rank+2, ..., so that not all ranks start on
// the same destination), then all are awaited: one round, p-1 messages
// each way, and no step waits for the previous one. Blocks are spans as in
// alltoallPairwise.
func alltoallLinear[T comm.Elem](ctx context.Context, c *comm.Comm, base int, dst []T, rb []span, src []T, sb []span) error {
	p, r := c.Size(), c.Rank()
	copyOwnBlock(r, dst, rb, src, sb)
	reqs := make([]*comm.Request, 0, 2*(p-1))
	for s := 1; s < p; s++ {
		from := mod(r-s, p)
		reqs = append(reqs, comm.Irecv(c, dst[rb[from].lo:rb[from].hi], from, base))
	}
	for s := 1; s < p; s++ {
		to := mod(r+s, p)
		reqs = append(reqs, comm.Isend(c, src[sb[to].lo:sb[to].hi], to, base))
	}
	if err := waitAll(ctx, reqs...); err != nil {
		return err
	}
	for s := 1; s < p; s++ {
		from := mod(r-s, p)
		if err := checkSize(reqs[s-1], dst[rb[from].lo:rb[from].hi], from); err != nil {
			return err
		}
	}
	for _, q := range reqs {
		q.Free()
	}
	return nil
}
