package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// Alltoall sends block j of src to rank j and receives rank i's block
// (destined here) into block i of dst: len(src) = len(dst) = p*n, the same
// on every rank. In place when src is nil (dst is the input).
//
// Algorithms: "bruck" (ceil(log2 p) steps, each moving about half the data;
// small blocks), "linear" (every message posted at once; medium blocks),
// "pairwise" (p-1 exchanges with rank+s / rank-s, one at a time; large
// blocks).
func Alltoall[T comm.Elem](ctx context.Context, c *comm.Comm, dst, src []T, opts ...Option) (err error) {
	sys, base := c.Collective()
	cfg := configure("alltoall", opts)
	p := c.Size()
	if len(dst)%p != 0 {
		panic("collectives: Alltoall: len(dst) is not a multiple of the communicator size")
	}
	if inPlace(dst, src) {
		src = getBuf[T](len(dst))
		copy(src, dst)
		defer func() {
			if err == nil {
				putBuf(src)
			}
		}()
	} else {
		checkLen("Alltoall", "src", len(src), len(dst))
	}
	n := len(dst) / p
	switch selectAlltoall(cfg, p, n*comm.SizeOf[T]()) {
	case "bruck":
		err = alltoallBruck(ctx, sys, base, dst, src, n)
	case "pairwise":
		blk := blocks(len(dst), p, n)
		err = alltoallPairwise(ctx, sys, base, dst, blk, src, blk)
	case "linear":
		blk := blocks(len(dst), p, n)
		err = alltoallLinear(ctx, sys, base, dst, blk, src, blk)
	}
	return wrap("Alltoall", c, err)
}

// Alltoallv is Alltoall with per-pair counts: rank i sends
// src[sdispls[j]:sdispls[j]+scounts[j]] to rank j, which receives it into
// dst[rdispls[i]:rdispls[i]+rcounts[i]]; scounts on i must equal rcounts
// on j for each pair. Displacements nil mean packed. In place when src is
// nil: dst, rcounts and rdispls describe the input too. Algorithm:
// "pairwise".
func Alltoallv[T comm.Elem](ctx context.Context, c *comm.Comm, dst []T, rcounts, rdispls []int, src []T, scounts, sdispls []int, opts ...Option) error {
	sys, base := c.Collective()
	configure("alltoallv", opts)
	p := c.Size()
	if rdispls == nil {
		rdispls = packedDispls(rcounts)
	}
	if src == nil {
		src, scounts, sdispls = append([]T(nil), dst...), rcounts, rdispls
	}
	if sdispls == nil {
		sdispls = packedDispls(scounts)
	}
	for what, s := range map[string][]int{"rcounts": rcounts, "rdispls": rdispls, "scounts": scounts, "sdispls": sdispls} {
		checkLen("Alltoallv", what, len(s), p)
	}
	rb, sb := make([]span, p), make([]span, p)
	for i := range p {
		rb[i] = span{rdispls[i], rdispls[i] + rcounts[i]}
		sb[i] = span{sdispls[i], sdispls[i] + scounts[i]}
	}
	return wrap("Alltoallv", c, alltoallPairwise(ctx, sys, base, dst, rb, src, sb))
}
