package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// allreduceRabenseifner: after folding to 2^k ranks, a recursive-halving
// reduce-scatter leaves each new rank with the full reduction of one of
// 2^k blocks, and a recursive-doubling allgather (the same exchanges in
// reverse) spreads them. Each rank moves about 2n data in 2 log2 p steps.
// The halving runs with growing distance (partners 1, 2, 4, ... apart), so
// each partial result covers a contiguous run of ranks and rank order
// holds for non-commutative ops. in is the rank's contribution (dst itself
// when in place): the first step sends from it and combines it into dst,
// so dst needs no copy of it.
func allreduceRabenseifner[T comm.Elem](ctx context.Context, c *comm.Comm, base int, dst, in []T, op Op[T]) (err error) {
	n := len(dst)
	tmp := getBuf[T](n)
	defer func() {
		if err == nil {
			putBuf(tmp)
		}
	}()
	scratch := scratchFor(op, n)
	f, in, err := foldIn(ctx, c, base, dst, in, tmp, scratch, op)
	if err != nil {
		return err
	}
	if f.newrank >= 0 {
		steps, err := halvingReduceScatter(ctx, c, base, dst, in, tmp, scratch, op, f)
		if err != nil {
			return err
		}
		for i := len(steps) - 1; i >= 0; i-- {
			st := steps[i]
			if err := exchange(ctx, c, dst[st.keep.lo:st.keep.hi], st.peer,
				dst[st.give.lo:st.give.hi], st.peer, tag(base, 64+i)); err != nil {
				return err
			}
		}
	}
	return foldOut(ctx, c, base, dst, f)
}

// halvingStep records one exchange of the recursive halving: the peer, the
// part kept (and reduced) and the part given to the peer.
type halvingStep struct {
	peer       int
	keep, give span
}

// halvingReduceScatter runs the recursive halving on the 2^k new ranks of
// f with tags base+1..; on return new rank i holds in buf the reduction of
// the last step's keep span. in holds the rank's partial result on entry
// (buf itself, or a separate buffer left unchanged); the other parts of buf
// are left as they were.
func halvingReduceScatter[T comm.Elem](ctx context.Context, c *comm.Comm, base int, buf, in, tmp, scratch []T, op Op[T], f fold) ([]halvingStep, error) {
	blk := blocks(len(buf), f.pof2, op.width())
	blo, bhi := 0, f.pof2
	var steps []halvingStep
	for mask, step := 1, 1; mask < f.pof2; mask, step = mask<<1, step+1 {
		nd := f.newrank ^ mask
		mid := (blo + bhi) / 2
		k0, k1, g0, g1 := blo, mid, mid, bhi
		if f.newrank&mask != 0 {
			k0, k1, g0, g1 = mid, bhi, blo, mid
		}
		st := halvingStep{
			peer: f.realRank(nd),
			keep: span{blk[k0].lo, blk[k1-1].hi},
			give: span{blk[g0].lo, blk[g1-1].hi},
		}
		t := tmp[:st.keep.n()]
		if err := exchange(ctx, c, in[st.give.lo:st.give.hi], st.peer, t, st.peer, tag(base, step)); err != nil {
			return nil, err
		}
		k, ik := buf[st.keep.lo:st.keep.hi], in[st.keep.lo:st.keep.hi]
		if nd < f.newrank {
			combineInto(op, k, t, ik, scratch)
		} else {
			combineInto(op, k, ik, t, scratch)
		}
		in = buf
		steps = append(steps, st)
		blo, bhi = k0, k1
	}
	return steps, nil
}
