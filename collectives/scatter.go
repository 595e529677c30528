package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// Scatter sends block i of root's src to rank i: dst = src[i*n:(i+1)*n]
// with n = len(dst) the same on every rank and len(src) = p*n on root (src
// is ignored elsewhere). In place on root when dst is nil: root's block
// stays in src.
//
// Algorithms: "binomial" (root sends half the blocks to one child, a
// quarter to the next, ...; small blocks), "linear" (root sends each
// block directly; large blocks).
func Scatter[T comm.Elem](ctx context.Context, c *comm.Comm, dst, src []T, root int, opts ...Option) error {
	sys, base := c.Collective()
	cfg := configure("scatter", opts)
	checkRoot("Scatter", c, root)
	p, r := c.Size(), c.Rank()
	n := len(dst)
	if r == root {
		if dst == nil {
			if len(src)%p != 0 {
				panic("collectives: Scatter: len(src) is not a multiple of the communicator size")
			}
			n = len(src) / p
		} else {
			checkLen("Scatter", "src", len(src), p*n)
			copy(dst, src[r*n:(r+1)*n])
		}
	}
	if p == 1 {
		return nil
	}
	var err error
	switch selectScatter(cfg, p, n*comm.SizeOf[T]()) {
	case "binomial":
		err = scatterBinomial(ctx, sys, base, dst, src, root, n)
	case "linear":
		err = scatterLinear(ctx, sys, base, dst, src, root, n)
	}
	return wrap("Scatter", c, err)
}

// Scatterv is Scatter with per-rank counts: rank i receives counts[i]
// elements from root's src[displs[i]:] into dst (len(dst) = counts[i]).
// counts and displs are used only on root; displs nil means packed. In
// place on root when dst is nil. Algorithm: "linear".
func Scatterv[T comm.Elem](ctx context.Context, c *comm.Comm, dst, src []T, counts, displs []int, root int, opts ...Option) error {
	sys, base := c.Collective()
	configure("scatterv", opts)
	checkRoot("Scatterv", c, root)
	return wrap("Scatterv", c, scattervLinear(ctx, sys, base, dst, src, counts, displs, root))
}
