package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// Reduce combines src of every rank with op into dst on root:
// dst = src_0 ⊕ ... ⊕ src_{p-1}. Every rank passes src of the same length;
// dst (same length) is used only on root and may be nil elsewhere. On
// root, with InPlace or when src starts where dst starts, it works in
// place: dst is root's input too (InPlace is ignored on the other ranks).
//
// Algorithms: "binomial" (binomial tree; small messages), "rabenseifner"
// (recursive-halving reduce-scatter, then a binomial gather of the pieces
// to root; large). With a non-commutative op the binomial tree is rooted at
// rank 0, which then sends the result to root.
//
// Bad arguments, reported before any communication: a root outside
// [0, Size()) wraps comm.ErrInvalidRank (on every rank); on root,
// len(src) != len(dst) without InPlace, or a src that is neither nil nor
// dst with InPlace, wraps comm.ErrInvalidArgument, as do a length that is
// not a multiple of op's Width, an op without Fn and a bad option. A
// mismatch only root can see leaves the other ranks waiting for root
// until their ctx ends.
func Reduce[T comm.Elem](ctx context.Context, c *comm.Comm, dst, src []T, op Op[T], root int, opts ...Option) (err error) {
	sys, base := c.Collective()
	sp := c.BeginCollective("Reduce", root, base) // observe: stall reports, --stats
	defer sp.End()
	cfg, err := setup("reduce", opts)
	if err == nil {
		err = badRoot(c, root)
	}
	if err != nil {
		return wrap("Reduce", c, checkBad(ctx, c, sys, kReduce, err))
	}
	r, p := c.Rank(), c.Size()
	n := len(src)
	if r == root {
		n = len(dst) // src may be nil (in place)
	}
	if err := op.valid("the length", n); err != nil {
		return wrap("Reduce", c, checkBad(ctx, c, sys, kReduce, err))
	}
	var rootIn []T // root's contribution
	if r == root {
		if rootIn, err = input(cfg, dst, src); err != nil {
			return wrap("Reduce", c, checkBad(ctx, c, sys, kReduce, err))
		}
	}
	k := callOf(kReduce, cfg).withOp(op.Name, op.Width, op.Commutative)
	k.root, k.count = root, n
	if err = check[T](ctx, c, sys, k); err != nil {
		return wrap("Reduce", c, err)
	}
	alg := sp.Algorithm(selectReduce(cfg, p, n*comm.SizeOf[T]()), n*comm.SizeOf[T]())
	// acc receives the rank's partial result; the algorithms read the
	// rank's contribution from in, so acc needs no copy of it.
	var acc, in []T
	switch {
	case r == root:
		acc, in = dst, rootIn
	case alg == "binomial" && binomialLeaf(p, r, root, op.Commutative):
		acc, in = src, src // a leaf of the tree only sends its contribution
	default:
		// Scratch, back to the pool after a call that succeeded.
		acc, in = getBuf[T](len(src)), src
		defer func() {
			if err == nil {
				putBuf(acc)
			}
		}()
	}
	if p == 1 {
		copy(acc, in)
		op.finish(acc)
		return nil
	}
	switch alg {
	case "binomial":
		err = reduceBinomial(ctx, sys, base, acc, in, op, root)
	case "rabenseifner":
		err = reduceRabenseifner(ctx, sys, base, acc, in, op, root)
	default:
		err = noDispatch("reduce", alg)
	}
	if err == nil && r == root {
		op.finish(dst)
	}
	return wrap("Reduce", c, err)
}
