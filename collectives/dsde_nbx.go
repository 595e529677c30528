package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// sparseNBX: Hoefler, Siebert and Lumsdaine's NBX. Synchronous sends of
// every message; receive whatever arrives until they have completed
// (been matched), then a barrier, receiving until it completes. Steps:
// tag(base, 0) for the data, from tag(base, 2) the barrier's.
func sparseNBX[T comm.Elem](ctx context.Context, sys *comm.Comm, base int, dests []int, data [][]T) ([]SparseMessage[T], error) {
	tg := tag(base, 0)
	sends := make([]*comm.Request, len(dests))
	for i, d := range dests {
		sends[i] = comm.Issend(sys, data[i], d, tg)
	}
	var s sparseReceiver[T]
	err := sparseConsensus(ctx, sys, tg, &s, func(ctx context.Context) error {
		if err := comm.WaitAll(ctx, sends...); err != nil {
			return err
		}
		// Every rank's sends are matched once every rank is here.
		return barrierDissemination(ctx, sys, base+2)
	}, func(int) {})
	if err == nil {
		err = comm.WaitAll(ctx, s.recvs...)
	}
	if err != nil {
		drain(append(sends, s.recvs...))
		return nil, err
	}
	return s.got, nil
}
