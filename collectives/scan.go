package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// Scan computes inclusive prefix reductions: on rank r,
// dst = src_0 ⊕ src_1 ⊕ ... ⊕ src_r (in rank order, so any op). len(dst) ==
// len(src), the same on every rank. In place when src is nil or starts
// where dst starts. Algorithm: "recdoubling" (ceil(log2 p) steps).
func Scan[T comm.Elem](ctx context.Context, c *comm.Comm, dst, src []T, op Op[T], opts ...Option) error {
	sys, base := c.Collective()
	configure("scan", opts)
	if !inPlace(dst, src) {
		checkLen("Scan", "src", len(src), len(dst))
		copy(dst, src)
	}
	op.check("Scan", len(dst))
	return wrap("Scan", c, scanRecDoubling(ctx, sys, base, dst, op))
}

// Exscan computes exclusive prefix reductions: on rank r > 0,
// dst = src_0 ⊕ ... ⊕ src_{r-1}; on rank 0 dst is left unchanged (MPI leaves
// it undefined). In place when src is nil or starts where dst starts.
// Algorithm: "recdoubling".
func Exscan[T comm.Elem](ctx context.Context, c *comm.Comm, dst, src []T, op Op[T], opts ...Option) error {
	sys, base := c.Collective()
	configure("exscan", opts)
	if inPlace(dst, src) {
		src = dst // copied before dst is written
	} else {
		checkLen("Exscan", "src", len(src), len(dst))
	}
	op.check("Exscan", len(dst))
	return wrap("Exscan", c, exscanRecDoubling(ctx, sys, base, dst, src, op))
}
