package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// alltoallPairwise: in step s (1..p-1) each rank sends its block for
// rank+s and receives the block from rank-s, so every step is a
// permutation and no rank is flooded. Blocks are given as spans of src
// (per destination) and dst (per source).
func alltoallPairwise[T comm.Elem](ctx context.Context, c *comm.Comm, base int, dst []T, rb []span, src []T, sb []span) error {
	p, r := c.Size(), c.Rank()
	copyOwnBlock(r, dst, rb, src, sb)
	for s := 1; s < p; s++ {
		to, from := mod(r+s, p), mod(r-s, p)
		if err := exchange(ctx, c, src[sb[to].lo:sb[to].hi], to, dst[rb[from].lo:rb[from].hi], from, tag(base, s)); err != nil {
			return err
		}
	}
	return nil
}

// copyOwnBlock copies rank r's block to itself from src to dst (block
// spans sb and rb, of the same length: the callers check it).
func copyOwnBlock[T comm.Elem](r int, dst []T, rb []span, src []T, sb []span) {
	copy(dst[rb[r].lo:rb[r].hi], src[sb[r].lo:sb[r].hi])
}
