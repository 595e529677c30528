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
	var acc []T
	if r == root {
		if !inPlace(dst, src) {
			checkLen("Reduce", "src", len(src), len(dst))
			copy(dst, src)
		}
		acc = dst
	} else if alg == "binomial" && binomialLeaf(p, r, root, op.Commutative) {
		acc = src // a leaf of the tree only sends its contribution
	} else {
		// Scratch, back to the pool after a call that succeeded.
		acc = getBuf[T](len(src))
		copy(acc, src)
		defer func() {
			if err == nil {
				putBuf(acc)
			}
		}()
	}
	op.check("Reduce", len(acc))
	if p == 1 {
		return nil
	}
	switch alg {
	case "binomial":
		err = reduceBinomial(ctx, sys, base, acc, op, root)
	case "rabenseifner":
		err = reduceRabenseifner(ctx, sys, base, acc, op, root)
	}
	return wrap("Reduce", c, err)
}
