package collectives

import (
	"context"
	"fmt"
	"slices"

	"github.com/gorun-hpc/gorun/comm"
)

// SparseMessage is one message SparseExchange received: who sent it and
// what.
type SparseMessage[T comm.Elem] struct {
	Source int
	Data   []T
}

// SparseExchange is the dynamic sparse data exchange (Hoefler, Siebert
// and Lumsdaine's NBX, as deal.II's and libMesh's consensus algorithms
// use it): each rank sends data[i] to dests[i], knowing only whom it sends
// to, and learns who sends to it by receiving. It returns every message
// sent to this rank, ordered by source and, for one source, in the order
// sent. There is no MPI function for it; it is built on MPI_Issend,
// MPI_Improbe/MPI_Mrecv and MPI_Ibarrier:
//
//  1. start a synchronous send (comm.Issend) of each data[i];
//  2. receive whatever arrives (comm.Mprobe, then Mrecv of exactly that
//     message) until this rank's own sends have all completed, that is
//     been matched by their receivers;
//  3. start an Ibarrier, and go on receiving until it completes: then
//     every rank's sends have been matched, so every message to this rank
//     has been received.
//
// Its cost is the messages themselves plus one barrier, against an
// Alltoall of counts (p messages a rank) before the data for the usual
// way (Alltoall of counts, then Alltoallv). A rank may appear in dests
// several times, and may be the calling rank. Waiting is blocking (no
// polling loop): the rank parks on message arrival, on its sends and on
// the barrier.
//
// Collective over c, following the package's calling convention (every
// rank calls it, in the same order as c's other collectives). data
// belongs to the call until it returns. The error is a fault, or
// comm.ErrInvalidArgument for len(data) != len(dests), or
// comm.ErrInvalidRank for a destination outside [0, c.Size()); a message
// whose size is not a whole number of elements fails with comm.ErrTruncate.
func SparseExchange[T comm.Elem](ctx context.Context, c *comm.Comm, dests []int, data [][]T) ([]SparseMessage[T], error) {
	if len(dests) != len(data) {
		return nil, argErr("SparseExchange", "len(dests) = %d, len(data) = %d", len(dests), len(data))
	}
	for _, d := range dests {
		if d < 0 || d >= c.Size() {
			return nil, fmt.Errorf("collectives: SparseExchange: %w: destination %d outside [0,%d)", comm.ErrInvalidRank, d, c.Size())
		}
	}
	sys, base := c.Collective()
	sp := c.BeginCollective("SparseExchange", -1, base) // observe: stall reports, --stats
	defer sp.End()
	if err := check[T](ctx, c, sys, call{kind: kSparseExchange, root: -1, count: -1}); err != nil {
		return nil, wrap("SparseExchange", c, err)
	}
	tg := tag(base, 0)
	sends := make([]*comm.Request, len(dests))
	for i, d := range dests {
		sends[i] = comm.Issend(sys, data[i], d, tg)
	}
	var got []SparseMessage[T]
	// receiveUntil receives messages until done is closed.
	receiveUntil := func(done <-chan struct{}) error {
		pctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			select {
			case <-done:
				cancel()
			case <-pctx.Done():
			}
		}()
		for {
			m, err := sys.Mprobe(pctx, comm.AnySource, tg)
			if err != nil {
				if ctx.Err() == nil && pctx.Err() != nil {
					return nil // done
				}
				return err
			}
			st := m.Status()
			es := comm.SizeOf[T]()
			if st.Bytes%es != 0 {
				m.RecvAlloc(ctx) // take it off the sender's hands
				return fmt.Errorf("from rank %d: %d bytes, not a whole number of %d-byte elements: %w", st.Source, st.Bytes, es, comm.ErrTruncate)
			}
			buf := make([]T, st.Bytes/es)
			if _, err := comm.Mrecv(ctx, m, buf); err != nil {
				return err
			}
			got = append(got, SparseMessage[T]{Source: st.Source, Data: buf})
		}
	}
	sent := make(chan struct{})
	var sendErr error
	go func() {
		sendErr = comm.WaitAll(ctx, sends...)
		close(sent)
	}()
	if err := receiveUntil(sent); err != nil {
		<-sent
		return nil, wrap("SparseExchange", c, err)
	}
	if sendErr != nil {
		return nil, wrap("SparseExchange", c, sendErr)
	}
	bar := Ibarrier(ctx, c)
	if err := receiveUntil(bar.Done()); err != nil {
		bar.Wait(ctx)
		return nil, wrap("SparseExchange", c, err)
	}
	if _, err := bar.Wait(ctx); err != nil {
		return nil, wrap("SparseExchange", c, err)
	}
	slices.SortStableFunc(got, func(a, b SparseMessage[T]) int { return a.Source - b.Source })
	return got, nil
}
