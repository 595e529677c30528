package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// bcastScatterAllgather (van de Geijn): the root scatters p blocks down a
// binomial tree (relative rank v ends with block v), then a ring
// allgather of the blocks completes every copy. About 2(p-1)/p of the
// message crosses each link, instead of log2 p whole messages.
func bcastScatterAllgather[T comm.Elem](ctx context.Context, c *comm.Comm, base int, buf []T, root int, cfg config) error {
	p, r := c.Size(), c.Rank()
	vr := mod(r-root, p)
	blk := blocks(len(buf), p, 1)
	rng := func(from, to int) []T { // blocks [from, to) of relative ranks
		return buf[blk[from].lo:blk[min(to, p)-1].hi]
	}
	// Binomial scatter: rank v's subtree is [v, v+lowbit(v)).
	mask := 1
	for mask < p {
		if vr&mask != 0 {
			if err := recv(ctx, c, rng(vr, vr+mask), mod(vr-mask+root, p), tag(base, 0)); err != nil {
				return err
			}
			break
		}
		mask <<= 1
	}
	var reqs []*comm.Request
	for mask >>= 1; mask > 0; mask >>= 1 {
		if vr+mask < p {
			reqs = append(reqs, comm.Isend(c, rng(vr+mask, vr+2*mask), mod(vr+mask+root, p), tag(base, 0)))
		}
	}
	if err := waitAll(ctx, reqs...); err != nil {
		return err
	}
	// Ring allgather over relative ranks.
	rel := make([]span, p)
	copy(rel, blk)
	return ringAllgather(ctx, c, base, 1, buf, rel, vr, func(v int) int { return mod(v+root, p) }, cfg.segElems(comm.SizeOf[T]()))
}
