package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// allreduceRing: a segmented ring reduce-scatter (rank r ends with the
// reduction of block r of p) followed by a segmented ring allgather.
// 2(p-1) steps, each rank sends 2(p-1)/p of the data: bandwidth-optimal
// for large messages. Commutative ops only (the selector ensures it): the
// reduction of block b starts at rank b+1 and goes round the ring.
func allreduceRing[T comm.Elem](ctx context.Context, c *comm.Comm, base int, dst []T, op Op[T], cfg config) error {
	p := c.Size()
	blk := blocks(len(dst), p, op.width())
	seg := cfg.segElems(comm.SizeOf[T]())
	if err := ringReduceScatter(ctx, c, base, dst, blk, op, seg); err != nil {
		return err
	}
	return ringAllgather(ctx, c, base, p, dst, blk, c.Rank(), func(v int) int { return v }, seg)
}
