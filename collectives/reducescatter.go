package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// ReduceScatter reduces src (sum(counts) elements, the same length on every
// rank) with op and leaves block i of the result (counts[i] elements, in
// order) on rank i: dst = (src_0 ⊕ ... ⊕ src_{p-1})[displ_r : displ_r+counts[r]]
// with packed displacements. counts is the same on every rank; each count
// must be a multiple of op's Width. In place when src is nil: dst then holds
// the whole input (sum(counts) elements) and the result is written to
// dst[:counts[r]].
//
// Algorithms: "ring" (segmented ring reduce-scatter; commutative ops),
// "reduce_scatterv" (binomial Reduce to rank 0, then a linear Scatterv;
// the fallback for non-commutative ops, keeping rank order).
func ReduceScatter[T comm.Elem](ctx context.Context, c *comm.Comm, dst, src []T, counts []int, op Op[T], opts ...Option) (err error) {
	sys, base := c.Collective()
	cfg := configure("reducescatter", opts)
	p, r := c.Size(), c.Rank()
	checkLen("ReduceScatter", "counts", len(counts), p)
	total := sum(counts)
	for _, n := range counts {
		op.check("ReduceScatter", n)
	}
	var work []T
	if src == nil {
		checkLen("ReduceScatter", "dst (in place)", len(dst), total)
		work = dst
	} else {
		checkLen("ReduceScatter", "src", len(src), total)
		checkLen("ReduceScatter", "dst", len(dst), counts[r])
		work = getBuf[T](total)
		copy(work, src)
		defer func() {
			if err == nil {
				putBuf(work)
			}
		}()
	}
	displs := packedDispls(counts)
	blk := make([]span, p)
	for i := range blk {
		blk[i] = span{displs[i], displs[i] + counts[i]}
	}
	switch selectReduceScatter(cfg, p, total*comm.SizeOf[T](), op.Commutative) {
	case "ring":
		err = ringReduceScatter(ctx, sys, base, work, blk, op, cfg.segElems(comm.SizeOf[T]()))
		if err == nil {
			copy(dst[:counts[r]], work[blk[r].lo:blk[r].hi])
		}
	case "reduce_scatterv":
		err = reduceScatterv(ctx, sys, base, dst[:counts[r]], work, counts, displs, op)
	}
	return wrap("ReduceScatter", c, err)
}

// ReduceScatterBlock is ReduceScatter with equal blocks: len(src) =
// p*len(dst), and rank i gets block i of the reduction. In place when src
// is nil: dst holds the whole input (p*n elements) and the result goes to
// dst[:n].
func ReduceScatterBlock[T comm.Elem](ctx context.Context, c *comm.Comm, dst, src []T, op Op[T], opts ...Option) error {
	p := c.Size()
	n := len(dst)
	if src == nil {
		if len(dst)%p != 0 {
			panic("collectives: ReduceScatterBlock: len(dst) is not a multiple of the communicator size")
		}
		n = len(dst) / p
	}
	counts := make([]int, p)
	for i := range counts {
		counts[i] = n
	}
	return ReduceScatter(ctx, c, dst, src, counts, op, opts...)
}
