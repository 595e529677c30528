package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// Shared by the recursive doubling and halving algorithms, which need a
// power of two of ranks: with p = 2^k + rem, ranks 0..2rem-1 pair up (2i,
// 2i+1), the even one hands its data to the odd one, which then takes
// part as "new rank" i; ranks 2rem.. take part as r-rem. New ranks stay in
// rank order and each stands for a contiguous run of ranks, so combining
// partners in new-rank order keeps a non-commutative op's rank order.

type fold struct {
	pof2, rem int
	newrank   int // -1 for the even ranks of the folded pairs
}

// realRank maps a new rank back to a rank of the communicator.
func (f fold) realRank(nr int) int {
	if nr < f.rem {
		return 2*nr + 1
	}
	return nr + f.rem
}

// foldIn performs the folding step into buf (tmp and scratch as for the
// caller's reduction), using tag(base, 0). in is the rank's contribution:
// buf itself, or a separate buffer that stays unchanged (then buf need not
// be initialised). It returns where the rank's partial result is now: in,
// or buf once the rank has combined into it.
func foldIn[T comm.Elem](ctx context.Context, c *comm.Comm, base int, buf, in, tmp, scratch []T, op Op[T]) (fold, []T, error) {
	p, r := c.Size(), c.Rank()
	f := fold{pof2: pof2Below(p)}
	f.rem = p - f.pof2
	switch {
	case r >= 2*f.rem:
		f.newrank = r - f.rem
	case r%2 == 0:
		f.newrank = -1
		return f, in, send(ctx, c, in, r+1, tag(base, 0))
	default:
		f.newrank = r / 2
		if err := recv(ctx, c, tmp[:len(buf)], r-1, tag(base, 0)); err != nil {
			return f, in, err
		}
		combineInto(op, buf, tmp[:len(buf)], in, scratch)
		in = buf
	}
	return f, in, nil
}

// foldOut returns the result to the even ranks of the folded pairs, with
// tag(base, StepsPerCollective-1).
func foldOut[T comm.Elem](ctx context.Context, c *comm.Comm, base int, buf []T, f fold) error {
	r := c.Rank()
	if r >= 2*f.rem {
		return nil
	}
	if r%2 == 1 {
		return send(ctx, c, buf, r-1, tag(base, comm.StepsPerCollective-1))
	}
	return recv(ctx, c, buf, r+1, tag(base, comm.StepsPerCollective-1))
}
