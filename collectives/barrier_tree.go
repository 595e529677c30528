package collectives

import (
	"context"
	"math/bits"

	"github.com/gorun-hpc/gorun/comm"
)

// barrierTree: a binomial fan-in of zero-byte messages to rank 0, then a
// binomial fan-out from it (Reduce then Bcast of nothing). 2 ceil(log2 p)
// rounds but only 2(p-1) messages, against dissemination's p ceil(log2 p):
// on an oversubscribed host, where every message costs its receiver a
// wake-up, fewer messages can beat fewer rounds (as reduce_bcast does for
// Allreduce). Rank 0 leaves first and the others in the fan-out's order,
// which is also the order in which a Bcast from rank 0 reaches them.
func barrierTree(ctx context.Context, c *comm.Comm, base int) error {
	return barrierTreeAround(ctx, c, base, nil)
}

// barrierTreeAround is barrierTree with atRoot, if not nil, run on rank 0
// between the fan-in and the fan-out (the hierarchical barrier's leaders'
// step).
func barrierTreeAround(ctx context.Context, c *comm.Comm, base int, atRoot func() error) error {
	p, r := c.Size(), c.Rank()
	var none []byte
	var arr [bits.UintSize]*comm.Request
	reqs := arr[:0]
	mask := 1
	for ; mask < p; mask <<= 1 {
		if r&mask != 0 {
			break
		}
		if child := r | mask; child < p {
			reqs = append(reqs, comm.Irecv(c, none, child, tag(base, 0)))
		}
	}
	if err := waitFree(ctx, reqs...); err != nil {
		return err
	}
	if r != 0 {
		parent := r &^ mask
		if err := send(ctx, c, none, parent, tag(base, 0)); err != nil {
			return err
		}
		if err := recv(ctx, c, none, parent, tag(base, 1)); err != nil {
			return err
		}
	} else if atRoot != nil {
		if err := atRoot(); err != nil {
			return err
		}
	}
	reqs = arr[:0]
	for mask >>= 1; mask > 0; mask >>= 1 {
		if r+mask < p {
			var err error
			if reqs, err = startSend(reqs, c, none, r+mask, tag(base, 1)); err != nil {
				drain(reqs)
				return err
			}
		}
	}
	return waitFree(ctx, reqs...)
}
