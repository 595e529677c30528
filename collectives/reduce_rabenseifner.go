package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// reduceRabenseifner: fold to 2^k ranks, recursive-halving reduce-scatter
// (as in allreduceRabenseifner), then the halving steps in reverse as a
// binomial gather toward the new rank that stands for root: in each
// reverse step the partner away from root sends all it holds and drops
// out. Each rank sends about n data in total instead of n log2 p. in is
// the rank's contribution: acc itself, or a separate buffer left unchanged
// (then acc needs no copy of it).
func reduceRabenseifner[T comm.Elem](ctx context.Context, c *comm.Comm, base int, acc, in []T, op Op[T], root int) (err error) {
	r := c.Rank()
	n := len(acc)
	tmp := getBuf[T](n)
	defer func() {
		if err == nil {
			putBuf(tmp)
		}
	}()
	scratch := scratchFor(op, n)
	f, in, err := foldIn(ctx, c, base, acc, in, tmp, scratch, op)
	if err != nil {
		return err
	}
	// The new rank that gathers the result: root's, or its odd partner's
	// when root was folded away.
	var target, host int
	switch {
	case root >= 2*f.rem:
		target, host = root-f.rem, root
	default:
		target, host = root/2, root|1
	}
	if f.newrank >= 0 {
		steps, err := halvingReduceScatter(ctx, c, base, acc, in, tmp, scratch, op, f)
		if err != nil {
			return err
		}
		for i := len(steps) - 1; i >= 0; i-- {
			st, mask := steps[i], 1<<i
			x := f.newrank ^ target
			if x>>(i+1) != 0 {
				break // dropped out in an earlier reverse step
			}
			tg := tag(base, 64+i)
			if x&mask == 0 {
				err = recv(ctx, c, acc[st.give.lo:st.give.hi], st.peer, tg)
			} else {
				err = send(ctx, c, acc[st.keep.lo:st.keep.hi], st.peer, tg)
			}
			if err != nil {
				return err
			}
		}
	}
	if host != root {
		switch r {
		case host:
			return send(ctx, c, acc, root, tag(base, 200))
		case root:
			return recv(ctx, c, acc, host, tag(base, 200))
		}
	}
	return nil
}
