package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// Scan computes inclusive prefix reductions: on rank r,
// dst = src_0 ⊕ src_1 ⊕ ... ⊕ src_r (in rank order, so any op). len(dst) ==
// len(src), the same on every rank. With InPlace, or when src starts where
// dst starts, it works in place. Algorithm: "recdoubling" (ceil(log2 p)
// steps).
//
// Bad arguments, reported before any communication as an error wrapping
// comm.ErrInvalidArgument: len(src) != len(dst) (without InPlace), a src
// that is neither nil nor dst with InPlace, a length that is not a multiple
// of op's Width, an op without Fn, a bad option.
func Scan[T comm.Elem](ctx context.Context, c *comm.Comm, dst, src []T, op Op[T], opts ...Option) error {
	sys, base := c.Collective()
	sp := c.BeginCollective("Scan", -1, base) // observe: stall reports, --stats
	defer sp.End()
	cfg, err := setup("scan", opts)
	var in []T
	if err == nil {
		in, err = input(cfg, dst, src)
	}
	if err == nil {
		err = op.valid("len(dst)", len(dst))
	}
	if err != nil {
		return wrap("Scan", c, checkBad(ctx, c, sys, kScan, err))
	}
	k := callOf(kScan, cfg).withOp(op.Name, op.Width, op.Commutative)
	k.count = len(dst)
	if err = check[T](ctx, c, sys, k); err != nil {
		return wrap("Scan", c, err)
	}
	copy(dst, in)
	err = scanRecDoubling(ctx, sys, base, dst, op)
	if err == nil {
		op.finish(dst)
	}
	return wrap("Scan", c, err)
}

// Exscan computes exclusive prefix reductions: on rank r > 0,
// dst = src_0 ⊕ ... ⊕ src_{r-1}; on rank 0 dst is left unchanged (MPI leaves
// it undefined). With InPlace, or when src starts where dst starts, it
// works in place. Algorithm: "recdoubling".
//
// Bad arguments: as for Scan.
func Exscan[T comm.Elem](ctx context.Context, c *comm.Comm, dst, src []T, op Op[T], opts ...Option) error {
	sys, base := c.Collective()
	sp := c.BeginCollective("Exscan", -1, base) // observe: stall reports, --stats
	defer sp.End()
	cfg, err := setup("exscan", opts)
	var in []T
	if err == nil {
		in, err = input(cfg, dst, src) // in place: copied before dst is written
	}
	if err == nil {
		err = op.valid("len(dst)", len(dst))
	}
	if err != nil {
		return wrap("Exscan", c, checkBad(ctx, c, sys, kExscan, err))
	}
	k := callOf(kExscan, cfg).withOp(op.Name, op.Width, op.Commutative)
	k.count = len(dst)
	if err = check[T](ctx, c, sys, k); err != nil {
		return wrap("Exscan", c, err)
	}
	err = exscanRecDoubling(ctx, sys, base, dst, in, op)
	if err == nil && c.Rank() > 0 {
		op.finish(dst)
	}
	return wrap("Exscan", c, err)
}
