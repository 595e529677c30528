package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// sparseAlltoall: an Alltoall of how many messages each rank sends to
// each other, then the messages: Isend of each, and from each source as
// many Mprobe/Imrecv as it announced (in order, by comm's non-overtaking
// rule). The Alltoall is a collective of c of its own, started inside this
// one on every rank; the data use tag(base, 0) of sys.
func sparseAlltoall[T comm.Elem](ctx context.Context, c, sys *comm.Comm, base int, dests []int, data [][]T) ([]SparseMessage[T], error) {
	p := c.Size()
	tg := tag(base, 0)
	scount, rcount := make([]int32, p), make([]int32, p)
	for _, d := range dests {
		scount[d]++
	}
	if err := Alltoall(ctx, c, rcount, scount); err != nil {
		return nil, err
	}
	sends := make([]*comm.Request, len(dests))
	for i, d := range dests {
		sends[i] = comm.Isend(sys, data[i], d, tg)
	}
	var s sparseReceiver[T]
	var err error
	for src := range p {
		for range rcount[src] {
			var m *comm.Message
			if m, err = sys.Mprobe(ctx, src, tg); err == nil {
				err = s.take(ctx, m)
			}
			if err != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	if err == nil {
		err = comm.WaitAll(ctx, append(s.recvs, sends...)...)
	}
	if err != nil {
		drain(append(sends, s.recvs...))
		return nil, err
	}
	return s.got, nil
}
