package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// bcastPipeline: the ranks form a chain root → root+1 → ... and the
// message moves down it in segments, so that every link is busy at once:
// time ≈ (p-2+S) segment transfers for S segments.
func bcastPipeline[T comm.Elem](ctx context.Context, c *comm.Comm, base int, buf []T, root int, cfg config) error {
	p, r := c.Size(), c.Rank()
	vr := mod(r-root, p)
	segs := segments(span{0, len(buf)}, cfg.segElems(comm.SizeOf[T]()), 1)
	prev, next := mod(r-1, p), mod(r+1, p)
	var recvs, sends []*comm.Request
	if vr > 0 {
		recvs = make([]*comm.Request, len(segs))
		for j, sg := range segs {
			recvs[j] = comm.Irecv(c, buf[sg.lo:sg.hi], prev, base)
		}
	}
	for j, sg := range segs {
		if vr > 0 {
			if err := waitSeg(ctx, recvs[j], buf[sg.lo:sg.hi], prev); err != nil {
				drain(recvs)
				drain(sends)
				return err
			}
		}
		if vr < p-1 {
			sends = append(sends, comm.Isend(c, buf[sg.lo:sg.hi], next, base))
		}
	}
	return waitFree(ctx, sends...)
}
