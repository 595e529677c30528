package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// reduceBinomial: in round j, relative ranks with bit j set send their
// partial result to the rank 2^j below and drop out; the others combine
// (their own run of ranks on the left). ceil(log2 p) rounds of the whole
// message. acc is the rank's contribution and, on root, the result. A
// non-commutative op uses the tree of rank 0 (so that the runs are in rank
// order) and a last message to root. Tags base and base+1. The receives
// from all children are posted at once on entry, so that their messages
// land in place (not in comm's unexpected-message buffers) and a parent
// whose children are all done is woken once, not once per child. in is
// the rank's contribution: acc itself, or a separate buffer left unchanged
// (then acc needs no copy of it: a leaf sends in, and the first child's
// data is combined with in into acc).
func reduceBinomial[T comm.Elem](ctx context.Context, c *comm.Comm, base int, acc, in []T, op Op[T], root int) (err error) {
	p, r := c.Size(), c.Rank()
	n := len(acc)
	top := root
	if !op.Commutative {
		top = 0
	}
	vr := mod(r-top, p)
	var children []int // relative ranks, in combining order
	parent := -1
	for mask := 1; mask < p; mask <<= 1 {
		if vr&mask != 0 {
			parent = vr - mask
			break
		}
		if child := vr | mask; child < p {
			children = append(children, child)
		}
	}
	tmp := getBuf[T](len(children) * n)
	defer func() {
		if err == nil {
			putBuf(tmp)
		}
	}()
	reqs := make([]*comm.Request, len(children))
	for i, ch := range children {
		reqs[i] = comm.Irecv(c, tmp[i*n:(i+1)*n], mod(ch+top, p), tag(base, 0))
	}
	for i, ch := range children {
		if err := waitAll(ctx, reqs[i]); err != nil {
			drain(reqs)
			return err
		}
		if err := checkSize(reqs[i], tmp[i*n:(i+1)*n], mod(ch+top, p)); err != nil {
			drain(reqs)
			return err
		}
		combineInto(op, acc, in, tmp[i*n:(i+1)*n], nil)
		in = acc
	}
	if parent >= 0 {
		if err := send(ctx, c, in, mod(parent+top, p), tag(base, 0)); err != nil {
			return err
		}
	}
	if top != root {
		switch r {
		case top:
			return send(ctx, c, in, root, tag(base, 1))
		case root:
			return recv(ctx, c, acc, top, tag(base, 1))
		}
	}
	return nil
}

// binomialLeaf reports whether rank r has no children in reduceBinomial's
// tree: it then only sends its contribution, and acc may be its src.
func binomialLeaf(p, r, root int, commutative bool) bool {
	top := root
	if !commutative {
		top = 0
	}
	return mod(r-top, p)&1 == 1
}
