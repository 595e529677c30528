package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// Allgather collects src of every rank, in rank order, into dst on every
// rank: dst[i*n:(i+1)*n] = src of rank i, n = len(src) the same everywhere,
// len(dst) = p*n. With InPlace the rank's block is already in dst (n =
// len(dst)/p) and src is not read.
//
// Algorithms: "recdoubling" (recursive doubling; log2 p steps; power-of-two
// p only, otherwise it falls back to "bruck"), "bruck" (ceil(log2 p) steps
// for any p, plus a local rotation), "ring" (p-1 steps, segmented;
// bandwidth-optimal for large messages).
//
// Bad arguments, reported before any communication as an error wrapping
// comm.ErrInvalidArgument: len(dst) != p*len(src), or with InPlace a
// len(dst) that is not a multiple of p or a src that is neither nil nor
// dst; a bad option.
func Allgather[T comm.Elem](ctx context.Context, c *comm.Comm, dst, src []T, opts ...Option) error {
	sys, base := c.Collective()
	sp := c.BeginCollective("Allgather", -1, base) // observe: stall reports, --stats
	defer sp.End()
	cfg, err := setup("allgather", opts)
	p, r := c.Size(), c.Rank()
	n := len(src)
	if err == nil {
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
		return wrap("Allgather", c, checkBad(ctx, c, sys, kAllgather, err))
	}
	k := callOf(kAllgather, cfg)
	k.count = n
	if err = check[T](ctx, c, sys, k); err != nil {
		return wrap("Allgather", c, err)
	}
	if !cfg.inPlace {
		copy(dst[r*n:(r+1)*n], src)
	}
	if p == 1 {
		return nil
	}
	switch alg := sp.Algorithm(selectAllgather(cfg, p, len(dst)*comm.SizeOf[T]()), len(dst)*comm.SizeOf[T]()); alg {
	case "recdoubling":
		err = allgatherRecDoubling(ctx, sys, base, dst, n)
	case "bruck":
		err = allgatherBruck(ctx, sys, base, dst, n)
	case "ring":
		err = allgatherRing(ctx, sys, base, dst, blocks(len(dst), p, n), cfg)
	default:
		err = noDispatch("allgather", alg)
	}
	return wrap("Allgather", c, err)
}

// Allgatherv is Allgather with per-rank counts: rank i's src (counts[i]
// elements) lands at dst[displs[i]:] on every rank. counts (and displs)
// are the same on every rank; displs nil means packed. With InPlace the
// rank's block is already in dst and src is not read. Algorithm: "ring".
//
// Bad arguments, reported before any communication as an error wrapping
// comm.ErrInvalidArgument: len(counts) or len(displs) != p, a negative
// count, a block displs[i]+[0,counts[i]) outside dst, len(src) !=
// counts[rank] (without InPlace), a src that is neither nil nor dst with
// InPlace, a bad option.
func Allgatherv[T comm.Elem](ctx context.Context, c *comm.Comm, dst []T, counts, displs []int, src []T, opts ...Option) error {
	sys, base := c.Collective()
	sp := c.BeginCollective("Allgatherv", -1, base) // observe: stall reports, --stats
	defer sp.End()
	cfg, err := setup("allgatherv", opts)
	p, r := c.Size(), c.Rank()
	var blk []span
	if err == nil {
		blk, err = blockSpans("counts", "displs", "dst", counts, displs, p, len(dst))
	}
	if err == nil {
		if cfg.inPlace {
			err = notInPlace("src", "dst", src, dst)
		} else {
			err = badLen("src", len(src), counts[r])
		}
	}
	if err != nil {
		return wrap("Allgatherv", c, checkBad(ctx, c, sys, kAllgatherv, err))
	}
	k := callOf(kAllgatherv, cfg)
	k.counts = counts
	if err = check[T](ctx, c, sys, k); err != nil {
		return wrap("Allgatherv", c, err)
	}
	if !cfg.inPlace {
		copy(dst[blk[r].lo:blk[r].hi], src)
	}
	return wrap("Allgatherv", c, allgatherRing(ctx, sys, base, dst, blk, cfg))
}
