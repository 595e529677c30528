package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// sparseNBXAck: NBX with eager sends, each acknowledged by an empty
// message from its receiver once matched (which is what an Issend's
// completion reports), so the data arrives one latency after the call
// instead of three. A rank enters the barrier once every message it sent
// is acknowledged. Steps: tag(base, 0) the data, tag(base, 1) the
// acknowledgements, from tag(base, 2) the barrier's.
func sparseNBXAck[T comm.Elem](ctx context.Context, sys *comm.Comm, base int, dests []int, data [][]T) ([]SparseMessage[T], error) {
	tg, ackTag := tag(base, 0), tag(base, 1)
	acks := make([]*comm.Request, len(dests))
	sends := make([]*comm.Request, 0, 2*len(dests))
	for i, d := range dests {
		acks[i] = sys.IrecvBytes(nil, d, ackTag)
		sends = append(sends, comm.Isend(sys, data[i], d, tg))
	}
	var s sparseReceiver[T]
	err := sparseConsensus(ctx, sys, tg, &s, func(ctx context.Context) error {
		if err := comm.WaitAll(ctx, acks...); err != nil {
			return err
		}
		// Every rank's messages are matched once every rank is here.
		return barrierDissemination(ctx, sys, base+2)
	}, func(src int) {
		sends = append(sends, sys.IsendBytes(nil, src, ackTag))
	})
	if err == nil {
		err = comm.WaitAll(ctx, append(s.recvs, sends...)...)
	}
	if err != nil {
		drain(append(append(acks, sends...), s.recvs...))
		return nil, err
	}
	return s.got, nil
}
