package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// ringAllgather completes buf, where position me (of p = len(blk)) holds
// its block blk[me] and position v lives on rank rankOf(v): in step s
// each position sends block me-s to its right and receives block me-s-1
// from its left, with tags off..off+p-2 from base. Blocks move in segments of seg elements, and a segment is
// forwarded as soon as it arrives, so steps overlap. p-1 steps; every
// rank sends and receives (p-1)/p of the data.
func ringAllgather[T comm.Elem](ctx context.Context, c *comm.Comm, base, off int, buf []T, blk []span, me int, rankOf func(int) int, seg int) error {
	p := len(blk)
	if p == 1 {
		return nil
	}
	right, left := rankOf(mod(me+1, p)), rankOf(mod(me-1, p))
	var sends []*comm.Request
	for _, sg := range segments(blk[me], seg, 1) {
		sends = append(sends, comm.Isend(c, buf[sg.lo:sg.hi], right, tag(base, off)))
	}
	for s := 0; s < p-1; s++ {
		segs := segments(blk[mod(me-s-1, p)], seg, 1)
		recvs := make([]*comm.Request, len(segs))
		for j, sg := range segs {
			recvs[j] = comm.Irecv(c, buf[sg.lo:sg.hi], left, tag(base, off+s))
		}
		for j, sg := range segs {
			if err := waitSeg(ctx, recvs[j], buf[sg.lo:sg.hi], left); err != nil {
				drain(recvs)
				drain(sends)
				return err
			}
			if s+1 < p-1 {
				sends = append(sends, comm.Isend(c, buf[sg.lo:sg.hi], right, tag(base, off+s+1)))
			}
		}
	}
	return waitFree(ctx, sends...)
}

// allgatherRing: Allgather and Allgatherv over the ring of ranks.
func allgatherRing[T comm.Elem](ctx context.Context, c *comm.Comm, base int, dst []T, blk []span, cfg config) error {
	return ringAllgather(ctx, c, base, 0, dst, blk, c.Rank(), func(v int) int { return v }, cfg.segElems(comm.SizeOf[T]()))
}
