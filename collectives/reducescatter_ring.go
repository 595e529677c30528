package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// ringReduceScatter reduces work (the same length on every rank, split
// into p blocks blk) so that rank r ends with the full reduction of block r
// in work[blk[r]]. In step s each rank sends its partial block r-1-s to the
// right and combines block r-2-s from the left; segments of seg elements
// are forwarded as soon as they are combined, so steps overlap. Uses tags
// base..base+p-2. Commutative ops only.
func ringReduceScatter[T comm.Elem](ctx context.Context, c *comm.Comm, base int, work []T, blk []span, op Op[T], seg int) (err error) {
	p, r := c.Size(), c.Rank()
	if p == 1 {
		return nil
	}
	w := op.width()
	right, left := mod(r+1, p), mod(r-1, p)
	maxb := 0
	for _, b := range blk {
		maxb = max(maxb, b.n())
	}
	bufs := [2][]T{getBuf[T](maxb), getBuf[T](maxb)}
	defer func() {
		if err == nil {
			putBuf(bufs[0])
			putBuf(bufs[1])
		}
	}()
	var sends []*comm.Request
	for _, sg := range segments(blk[mod(r-1, p)], seg, w) {
		sends = append(sends, comm.Isend(c, work[sg.lo:sg.hi], right, tag(base, 0)))
	}
	post := func(s int) ([]*comm.Request, []span) {
		b := blk[mod(r-2-s, p)]
		segs := segments(b, seg, w)
		reqs := make([]*comm.Request, len(segs))
		t := bufs[s%2]
		for j, sg := range segs {
			reqs[j] = comm.Irecv(c, t[sg.lo-b.lo:sg.hi-b.lo], left, tag(base, s))
		}
		return reqs, segs
	}
	recvs, segs := post(0)
	for s := 0; s < p-1; s++ {
		var nrecvs []*comm.Request
		var nsegs []span
		if s+1 < p-1 {
			nrecvs, nsegs = post(s + 1)
		}
		b := blk[mod(r-2-s, p)]
		t := bufs[s%2]
		for j, sg := range segs {
			if err := waitSeg(ctx, recvs[j], t[sg.lo-b.lo:sg.hi-b.lo], left); err != nil {
				drain(recvs)
				drain(nrecvs)
				drain(sends)
				return err
			}
			op.Fn(work[sg.lo:sg.hi], t[sg.lo-b.lo:sg.hi-b.lo])
			if s+1 < p-1 {
				sends = append(sends, comm.Isend(c, work[sg.lo:sg.hi], right, tag(base, s+1)))
			}
		}
		recvs, segs = nrecvs, nsegs
	}
	return waitFree(ctx, sends...)
}
