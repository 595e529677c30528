package collectives

import (
	"context"
	"fmt"

	"github.com/gorun-hpc/gorun/comm"
)

// Alltoall sends block j of src to rank j and receives rank i's block
// (destined here) into block i of dst: len(src) = len(dst) = p*n, the same
// on every rank. With InPlace, or when src starts where dst starts, dst is
// the input too.
//
// Algorithms: "bruck" (ceil(log2 p) steps, each moving about half the data;
// small blocks), "linear" (every message posted at once; medium blocks),
// "pairwise" (p-1 exchanges with rank+s / rank-s, one at a time; large
// blocks).
//
// Bad arguments, reported before any communication as an error wrapping
// comm.ErrInvalidArgument: a len(dst) that is not a multiple of p,
// len(src) != len(dst) (without InPlace), a src that is neither nil nor
// dst with InPlace, a bad option.
func Alltoall[T comm.Elem](ctx context.Context, c *comm.Comm, dst, src []T, opts ...Option) (err error) {
	sys, base := c.Collective()
	sp := c.BeginCollective("Alltoall", -1, base) // observe: stall reports, --stats
	defer sp.End()
	cfg, err := setup("alltoall", opts)
	p := c.Size()
	if err == nil {
		err = badMultiple("dst", len(dst), p)
	}
	if err == nil {
		src, err = input(cfg, dst, src)
	}
	if err != nil {
		return wrap("Alltoall", c, checkBad(ctx, c, sys, kAlltoall, err))
	}
	k := callOf(kAlltoall, cfg)
	k.count = len(dst) / p
	if err = check[T](ctx, c, sys, k); err != nil {
		return wrap("Alltoall", c, err)
	}
	if sameStart(dst, src) {
		src = getBuf[T](len(dst))
		copy(src, dst)
		defer func() {
			if err == nil {
				putBuf(src)
			}
		}()
	}
	n := len(dst) / p
	switch alg := sp.Algorithm(selectAlltoall(cfg, p, n*comm.SizeOf[T]()), n*comm.SizeOf[T]()); alg {
	case "bruck":
		err = alltoallBruck(ctx, sys, base, dst, src, n)
	case "pairwise":
		blk := blocks(len(dst), p, n)
		err = alltoallPairwise(ctx, sys, base, dst, blk, src, blk)
	case "linear":
		blk := blocks(len(dst), p, n)
		err = alltoallLinear(ctx, sys, base, dst, blk, src, blk)
	default:
		err = noDispatch("alltoall", alg)
	}
	return wrap("Alltoall", c, err)
}

// Alltoallv is Alltoall with per-pair counts: rank i sends
// src[sdispls[j]:sdispls[j]+scounts[j]] to rank j, which receives it into
// dst[rdispls[i]:rdispls[i]+rcounts[i]]; scounts on i must equal rcounts
// on j for each pair. Displacements nil mean packed. With InPlace dst,
// rcounts and rdispls describe the input too, and src, scounts and
// sdispls are not read. A src that starts where dst starts is read before
// dst is written, with scounts and sdispls as given. Algorithm:
// "pairwise".
//
// Bad arguments, reported before any communication as an error wrapping
// comm.ErrInvalidArgument: a counts or displs slice whose length is not
// p, a negative count, a block outside dst (rcounts, rdispls) or src
// (scounts, sdispls), scounts[rank] != rcounts[rank], a src that is
// neither nil nor dst with InPlace, a bad option. A nil src with zero
// scounts is an empty contribution.
func Alltoallv[T comm.Elem](ctx context.Context, c *comm.Comm, dst []T, rcounts, rdispls []int, src []T, scounts, sdispls []int, opts ...Option) (err error) {
	sys, base := c.Collective()
	sp := c.BeginCollective("Alltoallv", -1, base) // observe: stall reports, --stats
	defer sp.End()
	cfg, err := setup("alltoallv", opts)
	p, r := c.Size(), c.Rank()
	var rb, sb []span
	if err == nil {
		rb, err = blockSpans("rcounts", "rdispls", "dst", rcounts, rdispls, p, len(dst))
	}
	switch {
	case err != nil:
	case cfg.inPlace:
		err = notInPlace("src", "dst", src, dst)
		sb = rb
	default:
		sb, err = blockSpans("scounts", "sdispls", "src", scounts, sdispls, p, len(src))
		if err == nil && scounts[r] != rcounts[r] {
			err = fmt.Errorf("scounts[%d] = %d, rcounts[%d] = %d: a rank sends itself what it receives: %w",
				r, scounts[r], r, rcounts[r], comm.ErrInvalidArgument)
		}
	}
	if err != nil {
		return wrap("Alltoallv", c, checkBad(ctx, c, sys, kAlltoallv, err))
	}
	if err = check[T](ctx, c, sys, callOf(kAlltoallv, cfg)); err != nil {
		return wrap("Alltoallv", c, err)
	}
	if cfg.inPlace || sameStart(dst, src) {
		in := dst
		if !cfg.inPlace {
			in = src
		}
		buf := getBuf[T](len(in))
		copy(buf, in)
		src = buf
		defer func() {
			if err == nil {
				putBuf(buf)
			}
		}()
	}
	return wrap("Alltoallv", c, alltoallPairwise(ctx, sys, base, dst, rb, src, sb))
}
