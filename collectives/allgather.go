package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// Allgather collects src of every rank, in rank order, into dst on every
// rank: dst[i*n:(i+1)*n] = src of rank i, n = len(src) the same everywhere,
// len(dst) = p*n. In place when src is nil: the rank's block is already in
// dst.
//
// Algorithms: "recdoubling" (recursive doubling; log2 p steps; power-of-two
// p only, otherwise it falls back to "bruck"), "bruck" (ceil(log2 p) steps
// for any p, plus a local rotation), "ring" (p-1 steps, segmented;
// bandwidth-optimal for large messages).
func Allgather[T comm.Elem](ctx context.Context, c *comm.Comm, dst, src []T, opts ...Option) error {
	sys, base := c.Collective()
	cfg := configure("allgather", opts)
	p, r := c.Size(), c.Rank()
	n := len(src)
	if src == nil {
		if len(dst)%p != 0 {
			panic("collectives: Allgather: len(dst) is not a multiple of the communicator size")
		}
		n = len(dst) / p
	} else {
		checkLen("Allgather", "dst", len(dst), p*n)
		copy(dst[r*n:(r+1)*n], src)
	}
	if p == 1 {
		return nil
	}
	var err error
	switch selectAllgather(cfg, p, len(dst)*comm.SizeOf[T]()) {
	case "recdoubling":
		err = allgatherRecDoubling(ctx, sys, base, dst, n)
	case "bruck":
		err = allgatherBruck(ctx, sys, base, dst, n)
	case "ring":
		err = allgatherRing(ctx, sys, base, dst, blocks(len(dst), p, n), cfg)
	}
	return wrap("Allgather", c, err)
}

// Allgatherv is Allgather with per-rank counts: rank i's src (counts[i]
// elements) lands at dst[displs[i]:] on every rank. counts (and displs)
// are the same on every rank; displs nil means packed. In place when src
// is nil. Algorithm: "ring".
func Allgatherv[T comm.Elem](ctx context.Context, c *comm.Comm, dst []T, counts, displs []int, src []T, opts ...Option) error {
	sys, base := c.Collective()
	cfg := configure("allgatherv", opts)
	p, r := c.Size(), c.Rank()
	checkLen("Allgatherv", "counts", len(counts), p)
	if displs == nil {
		displs = packedDispls(counts)
	}
	checkLen("Allgatherv", "displs", len(displs), p)
	blk := make([]span, p)
	for i := range blk {
		blk[i] = span{displs[i], displs[i] + counts[i]}
	}
	if src != nil {
		checkLen("Allgatherv", "src", len(src), counts[r])
		copy(dst[blk[r].lo:blk[r].hi], src)
	}
	return wrap("Allgatherv", c, allgatherRing(ctx, sys, base, dst, blk, cfg))
}
