package collectives

import (
	"context"
	"fmt"

	"github.com/gorun-hpc/gorun/comm"
)

// ReduceScatter reduces src (sum(counts) elements, the same length on every
// rank) with op and leaves block i of the result (counts[i] elements, in
// order) on rank i: dst = (src_0 ⊕ ... ⊕ src_{p-1})[displ_r : displ_r+counts[r]]
// with packed displacements. counts is the same on every rank; each count
// must be a multiple of op's Width. With InPlace, dst holds the whole input
// (sum(counts) elements), src is not read and the result is written to
// dst[:counts[r]]. A src that starts where dst starts is read before dst
// is written.
//
// Algorithms: "ring" (segmented ring reduce-scatter; commutative ops),
// "reduce_scatterv" (binomial Reduce to rank 0, then a linear Scatterv;
// the fallback for non-commutative ops, keeping rank order).
//
// Bad arguments, reported before any communication as an error wrapping
// comm.ErrInvalidArgument: len(counts) != p, a negative count or one that
// is not a multiple of op's Width, len(src) != sum(counts) and len(dst) !=
// counts[rank] (without InPlace), len(dst) != sum(counts) or a src that is
// neither nil nor dst with InPlace, an op without Fn, a bad option.
func ReduceScatter[T comm.Elem](ctx context.Context, c *comm.Comm, dst, src []T, counts []int, op Op[T], opts ...Option) (err error) {
	sys, base := c.Collective()
	sp := c.BeginCollective("ReduceScatter", -1, base) // observe: stall reports, --stats
	defer sp.End()
	cfg, err := setup("reducescatter", opts)
	p, r := c.Size(), c.Rank()
	var blk []span
	if err == nil {
		blk, err = blockSpans("counts", "displs", "src", counts, nil, p, sum(counts))
	}
	for i := 0; err == nil && i < p; i++ {
		if e := op.valid("the count", counts[i]); e != nil {
			err = fmt.Errorf("counts[%d]: %w", i, e)
		}
	}
	var total int
	if err == nil {
		total = sum(counts)
		if cfg.inPlace {
			err = badLen("dst", len(dst), total)
			if err == nil {
				err = notInPlace("src", "dst", src, dst)
			}
		} else {
			err = badLen("src", len(src), total)
			if err == nil {
				err = badLen("dst", len(dst), counts[r])
			}
		}
	}
	if err != nil {
		return wrap("ReduceScatter", c, checkBad(ctx, c, sys, kReduceScatter, err))
	}
	k := callOf(kReduceScatter, cfg).withOp(op.Name, op.Width, op.Commutative)
	k.counts = counts
	if err = check[T](ctx, c, sys, k); err != nil {
		return wrap("ReduceScatter", c, err)
	}
	var work []T
	if cfg.inPlace {
		work = dst
	} else {
		work = getBuf[T](total)
		copy(work, src)
		defer func() {
			if err == nil {
				putBuf(work)
			}
		}()
	}
	displs := packedDispls(counts)
	switch alg := sp.Algorithm(selectReduceScatter(cfg, p, total*comm.SizeOf[T](), op.Commutative), total*comm.SizeOf[T]()); alg {
	case "ring":
		err = ringReduceScatter(ctx, sys, base, work, blk, op, cfg.segElems(comm.SizeOf[T]()))
		if err == nil {
			copy(dst[:counts[r]], work[blk[r].lo:blk[r].hi])
		}
	case "reduce_scatterv":
		err = reduceScatterv(ctx, sys, base, dst[:counts[r]], work, counts, displs, op)
	default:
		err = noDispatch("reducescatter", alg)
	}
	if err == nil {
		op.finish(dst[:counts[r]])
	}
	return wrap("ReduceScatter", c, err)
}

// ReduceScatterBlock is ReduceScatter with equal blocks: len(src) =
// p*len(dst), and rank i gets block i of the reduction. With InPlace dst
// holds the whole input (p*n elements, n = len(dst)/p), src is not read
// and the result goes to dst[:n].
//
// Bad arguments, reported before any communication as an error wrapping
// comm.ErrInvalidArgument: len(src) != p*len(dst) (without InPlace), a
// len(dst) that is not a multiple of p or a src that is neither nil nor
// dst with InPlace, a block length that is not a multiple of op's Width,
// an op without Fn, a bad option.
func ReduceScatterBlock[T comm.Elem](ctx context.Context, c *comm.Comm, dst, src []T, op Op[T], opts ...Option) error {
	p := c.Size()
	n := len(dst)
	cfg, err := setup("reducescatter", opts)
	if err == nil && cfg.inPlace {
		err = badMultiple("dst", len(dst), p)
		n = len(dst) / p
	}
	if err != nil {
		sys, _ := c.Collective() // the sequence number ReduceScatter would take
		return wrap("ReduceScatterBlock", c, checkBad(ctx, c, sys, kReduceScatter, err))
	}
	counts := make([]int, p)
	for i := range counts {
		counts[i] = n
	}
	return ReduceScatter(ctx, c, dst, src, counts, op, opts...)
}
