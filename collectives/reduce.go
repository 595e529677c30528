package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// Reduce combines src of every rank with op into dst on root:
// dst = src_0 ⊕ ... ⊕ src_{p-1}. Every rank passes src of the same length;
// dst (same length) is used only on root and may be nil elsewhere. In
// place on root when src is nil or starts where dst starts.
//
// Algorithms: "binomial" (binomial tree; small messages), "rabenseifner"
// (recursive-halving reduce-scatter, then a binomial gather of the pieces
// to root; large). With a non-commutative op the binomial tree is rooted at
// rank 0, which then sends the result to root.
func Reduce[T comm.Elem](ctx context.Context, c *comm.Comm, dst, src []T, op Op[T], root int, opts ...Option) (err error) {
	sys, base := c.Collective()
	cfg := configure("reduce", opts)
	checkRoot("Reduce", c, root)
	r, p := c.Rank(), c.Size()
	n := len(src)
	if r == root {
		n = len(dst) // src may be nil (in place)
	}
	alg := selectReduce(cfg, p, n*comm.SizeOf[T]())
	// acc receives the rank's partial result; the algorithms read the
	// rank's contribution from in, so acc needs no copy of it.
	var acc, in []T
	switch {
	case r == root && inPlace(dst, src):
		acc, in = dst, dst
	case r == root:
		checkLen("Reduce", "src", len(src), len(dst))
		acc, in = dst, src
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
	op.check("Reduce", len(acc))
	if p == 1 {
		copy(acc, in)
		return nil
	}
	switch alg {
	case "binomial":
		err = reduceBinomial(ctx, sys, base, acc, in, op, root)
	case "rabenseifner":
		err = reduceRabenseifner(ctx, sys, base, acc, in, op, root)
	}
	return wrap("Reduce", c, err)
}
