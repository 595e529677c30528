package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// Gather collects src of every rank, in rank order, into dst on root:
// dst[i*n:(i+1)*n] = src of rank i, with n = len(src) the same on every
// rank and len(dst) = p*n on root (dst is ignored elsewhere). With InPlace
// on root, root's block is already in dst (n = len(dst)/p) and root's src
// is not read; the other ranks ignore InPlace.
//
// Algorithms: "binomial" (subtrees forward their gathered blocks up a
// binomial tree; small blocks), "linear" (every rank sends to root at
// once; large blocks).
//
// Bad arguments, reported before any communication: a root outside
// [0, Size()) wraps comm.ErrInvalidRank (on every rank); on root,
// len(dst) != p*len(src), or with InPlace a len(dst) that is not a
// multiple of p or a src that is neither nil nor dst, wraps
// comm.ErrInvalidArgument, as does a bad option. The other ranks cannot
// see root's mistake and wait for root until their ctx ends.
func Gather[T comm.Elem](ctx context.Context, c *comm.Comm, dst, src []T, root int, opts ...Option) error {
	sys, base := c.Collective()
	sp := c.BeginCollective("Gather", root, base) // observe: stall reports, --stats
	defer sp.End()
	cfg, err := setup("gather", opts)
	if err == nil {
		err = badRoot(c, root)
	}
	p, r := c.Size(), c.Rank()
	n := len(src)
	if err == nil && r == root {
		if cfg.inPlace {
			n = len(dst) / p
			err = badMultiple("dst", len(dst), p)
			if err == nil {
				err = notInPlace("src", "dst", src, dst)
			}
		} else {
			err = badLen("dst", len(dst), p*n)
		}
	}
	if err != nil {
		return wrap("Gather", c, checkBad(ctx, c, sys, kGather, err))
	}
	k := callOf(kGather, cfg)
	k.root, k.count = root, n
	if err = check[T](ctx, c, sys, k); err != nil {
		return wrap("Gather", c, err)
	}
	if r == root && !cfg.inPlace {
		copy(dst[r*n:(r+1)*n], src)
	}
	if p == 1 {
		return nil
	}
	switch alg := sp.Algorithm(selectGather(cfg, p, n*comm.SizeOf[T]()), n*comm.SizeOf[T]()); alg {
	case "binomial":
		err = gatherBinomial(ctx, sys, base, dst, src, root, n)
	case "linear":
		err = gatherLinear(ctx, sys, base, dst, src, root, n)
	default:
		err = noDispatch("gather", alg)
	}
	return wrap("Gather", c, err)
}

// Gatherv is Gather with per-rank counts: on root, rank i's src (of
// counts[i] elements) lands at dst[displs[i]:]. counts and displs are used
// only on root; displs nil means packed (displs[i] = counts[0]+...+
// counts[i-1]). With InPlace on root, root's block is already in dst and
// root's src is not read; the other ranks ignore InPlace. Algorithm:
// "linear".
//
// Bad arguments, reported before any communication: a root outside
// [0, Size()) wraps comm.ErrInvalidRank (on every rank); on root,
// len(counts) or len(displs) != p, a negative count, a block
// displs[i]+[0,counts[i]) outside dst, len(src) != counts[root] (without
// InPlace) or a src that is neither nil nor dst with InPlace wraps
// comm.ErrInvalidArgument, as does a bad option. The other ranks cannot
// see root's mistake and wait for root until their ctx ends.
func Gatherv[T comm.Elem](ctx context.Context, c *comm.Comm, dst []T, counts, displs []int, src []T, root int, opts ...Option) error {
	sys, base := c.Collective()
	sp := c.BeginCollective("Gatherv", root, base) // observe: stall reports, --stats
	defer sp.End()
	cfg, err := setup("gatherv", opts)
	if err == nil {
		err = badRoot(c, root)
	}
	p, r := c.Size(), c.Rank()
	var blk []span
	if err == nil && r == root {
		blk, err = blockSpans("counts", "displs", "dst", counts, displs, p, len(dst))
		if err == nil {
			if cfg.inPlace {
				err = notInPlace("src", "dst", src, dst)
			} else {
				err = badLen("src", len(src), counts[r])
			}
		}
	}
	if err != nil {
		return wrap("Gatherv", c, checkBad(ctx, c, sys, kGatherv, err))
	}
	k := callOf(kGatherv, cfg)
	k.root = root
	if err = check[T](ctx, c, sys, k); err != nil {
		return wrap("Gatherv", c, err)
	}
	if r == root && !cfg.inPlace {
		copy(dst[blk[r].lo:blk[r].hi], src)
	}
	return wrap("Gatherv", c, gathervLinear(ctx, sys, base, dst, blk, src, root))
}
