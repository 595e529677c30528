package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// Gather collects src of every rank, in rank order, into dst on root:
// dst[i*n:(i+1)*n] = src of rank i, with n = len(src) the same on every
// rank and len(dst) = p*n on root (dst is ignored elsewhere). In place on
// root when src is nil: root's block is already in dst.
//
// Algorithms: "binomial" (subtrees forward their gathered blocks up a
// binomial tree; small blocks), "linear" (every rank sends to root at
// once; large blocks).
func Gather[T comm.Elem](ctx context.Context, c *comm.Comm, dst, src []T, root int, opts ...Option) error {
	sys, base := c.Collective()
	cfg := configure("gather", opts)
	checkRoot("Gather", c, root)
	p, r := c.Size(), c.Rank()
	n := len(src)
	if r == root {
		if src == nil {
			if len(dst)%p != 0 {
				panic("collectives: Gather: len(dst) is not a multiple of the communicator size")
			}
			n = len(dst) / p
		} else {
			checkLen("Gather", "dst", len(dst), p*n)
			copy(dst[r*n:(r+1)*n], src)
		}
	}
	if p == 1 {
		return nil
	}
	var err error
	switch selectGather(cfg, p, n*comm.SizeOf[T]()) {
	case "binomial":
		err = gatherBinomial(ctx, sys, base, dst, src, root, n)
	case "linear":
		err = gatherLinear(ctx, sys, base, dst, src, root, n)
	}
	return wrap("Gather", c, err)
}

// Gatherv is Gather with per-rank counts: on root, rank i's src (of
// counts[i] elements) lands at dst[displs[i]:]. counts and displs are used
// only on root; displs nil means packed (displs[i] = counts[0]+...+
// counts[i-1]). In place on root when src is nil. Algorithm: "linear".
func Gatherv[T comm.Elem](ctx context.Context, c *comm.Comm, dst []T, counts, displs []int, src []T, root int, opts ...Option) error {
	sys, base := c.Collective()
	configure("gatherv", opts)
	checkRoot("Gatherv", c, root)
	return wrap("Gatherv", c, gathervLinear(ctx, sys, base, dst, counts, displs, src, root))
}
