package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// Scatter sends block i of root's src to rank i: dst = src[i*n:(i+1)*n]
// with n = len(dst) the same on every rank and len(src) = p*n on root (src
// is ignored elsewhere). With InPlace on root, root's dst is not written
// (its block stays in src, n = len(src)/p); the other ranks ignore
// InPlace. Root writes its own block of dst last, so a dst that starts
// where src starts is safe.
//
// Algorithms: "binomial" (root sends half the blocks to one child, a
// quarter to the next, ...; small blocks), "linear" (root sends each
// block directly; large blocks).
//
// Bad arguments, reported before any communication: a root outside
// [0, Size()) wraps comm.ErrInvalidRank (on every rank); on root,
// len(src) != p*len(dst), or with InPlace a len(src) that is not a
// multiple of p or a dst that is neither nil nor src, wraps
// comm.ErrInvalidArgument, as does a bad option. The other ranks cannot
// see root's mistake and wait for root until their ctx ends.
func Scatter[T comm.Elem](ctx context.Context, c *comm.Comm, dst, src []T, root int, opts ...Option) error {
	sys, base := c.Collective()
	sp := c.BeginCollective("Scatter", root, base) // observe: stall reports, --stats
	defer sp.End()
	cfg, err := setup("scatter", opts)
	if err == nil {
		err = badRoot(c, root)
	}
	p, r := c.Size(), c.Rank()
	n := len(dst)
	if err == nil && r == root {
		if cfg.inPlace {
			n = len(src) / p
			err = badMultiple("src", len(src), p)
			if err == nil {
				err = notInPlace("dst", "src", dst, src)
			}
		} else {
			err = badLen("src", len(src), p*n)
		}
	}
	if err != nil {
		return wrap("Scatter", c, checkBad(ctx, c, sys, kScatter, err))
	}
	k := callOf(kScatter, cfg)
	k.root, k.count = root, n
	if err = check[T](ctx, c, sys, k); err != nil {
		return wrap("Scatter", c, err)
	}
	if p > 1 {
		switch alg := sp.Algorithm(selectScatter(cfg, p, n*comm.SizeOf[T]()), n*comm.SizeOf[T]()); alg {
		case "binomial":
			err = scatterBinomial(ctx, sys, base, dst, src, root, n)
		case "linear":
			err = scatterLinear(ctx, sys, base, dst, src, root, n)
		default:
			err = noDispatch("scatter", alg)
		}
	}
	if err == nil && r == root && !cfg.inPlace {
		copy(dst, src[r*n:(r+1)*n])
	}
	return wrap("Scatter", c, err)
}

// Scatterv is Scatter with per-rank counts: rank i receives counts[i]
// elements from root's src[displs[i]:] into dst (len(dst) = counts[i]).
// counts and displs are used only on root; displs nil means packed. With
// InPlace on root, root's dst is not written; the other ranks ignore
// InPlace. Root writes its own block of dst last, as Scatter does.
// Algorithm: "linear".
//
// Bad arguments, reported before any communication: a root outside
// [0, Size()) wraps comm.ErrInvalidRank (on every rank); on root,
// len(counts) or len(displs) != p, a negative count, a block
// displs[i]+[0,counts[i]) outside src, len(dst) != counts[root] (without
// InPlace) or a dst that is neither nil nor src with InPlace wraps
// comm.ErrInvalidArgument, as does a bad option. The other ranks cannot
// see root's mistake and wait for root until their ctx ends; a rank whose
// len(dst) differs from root's counts gets an error wrapping
// comm.ErrTruncate.
func Scatterv[T comm.Elem](ctx context.Context, c *comm.Comm, dst, src []T, counts, displs []int, root int, opts ...Option) error {
	sys, base := c.Collective()
	sp := c.BeginCollective("Scatterv", root, base) // observe: stall reports, --stats
	defer sp.End()
	cfg, err := setup("scatterv", opts)
	if err == nil {
		err = badRoot(c, root)
	}
	p, r := c.Size(), c.Rank()
	var blk []span
	if err == nil && r == root {
		blk, err = blockSpans("counts", "displs", "src", counts, displs, p, len(src))
		if err == nil {
			if cfg.inPlace {
				err = notInPlace("dst", "src", dst, src)
			} else {
				err = badLen("dst", len(dst), counts[r])
			}
		}
	}
	if err != nil {
		return wrap("Scatterv", c, checkBad(ctx, c, sys, kScatterv, err))
	}
	k := callOf(kScatterv, cfg)
	k.root = root
	if err = check[T](ctx, c, sys, k); err != nil {
		return wrap("Scatterv", c, err)
	}
	err = scattervLinear(ctx, sys, base, dst, src, blk, root)
	if err == nil && r == root && !cfg.inPlace {
		copy(dst, src[blk[r].lo:blk[r].hi])
	}
	return wrap("Scatterv", c, err)
}
