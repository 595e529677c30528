package collectives

import (
	"context"
	"fmt"
	"slices"

	"github.com/gorun-hpc/gorun/comm"
)

// SparseMessage is one message SparseExchange received: who sent it and
// what (MPI_Status's source and the received buffer).
type SparseMessage[T comm.Elem] struct {
	Source int
	Data   []T
}

// SparseExchange is the dynamic sparse data exchange (as deal.II's and
// libMesh's consensus algorithms provide it): each rank sends data[i] to
// dests[i], knowing only whom it sends to, and learns who sends to it by
// receiving. It returns every message sent to this rank, ordered by source
// and, for one source, in the order sent. There is no MPI function for it;
// the algorithms are built on MPI's point-to-point calls and a barrier:
//
//   - "nbx" (Hoefler, Siebert and Lumsdaine's non-blocking consensus, on
//     MPI_Issend, MPI_Mprobe/MPI_Mrecv and MPI_Ibarrier): start a
//     synchronous send (comm.Issend) of each data[i]; take and receive
//     whatever arrives (Mprobe, then Imrecv of exactly that message) until
//     this rank's own sends have all completed, that is been matched by
//     their receivers; then enter a barrier while still receiving. When
//     the barrier completes every rank's sends have been matched, so every
//     message to this rank has been received. Cost: three one-way
//     latencies per message (announcement, clear-to-send, data: comm's
//     synchronous sends always take the rendezvous path) and a barrier
//     (ceil(log2 p) rounds).
//   - "nbx_ack": the same consensus, with each message sent eagerly
//     (comm.Isend) and acknowledged by an empty message from its receiver
//     once matched, which tells the sender what Issend's completion would:
//     two one-way latencies per message, the data arriving after one.
//   - "alltoall": an Alltoall of the number of messages each rank sends to
//     each other, then the messages themselves (Isend, and Mprobe/Imrecv
//     of as many as announced from each source). Cost: the Alltoall (p-1
//     or log p rounds whatever the number of targets) and one latency.
//
// The consensus algorithms' cost grows with the number of targets and
// log p (2k messages and ceil(log2 p) barrier rounds a rank), the
// Alltoall's with p (its rounds carry p counts in all, and every rank
// looks at p of them): NBX is built to win for many ranks on a network,
// each with few targets. On one host it does not: bench/dsde (64 int64s
// to 3 random ranks, 2-core VM, loaded) measured "alltoall" fastest at
// every np tried, 2 to 16, and the gap to nbx_ack not closing (µs per
// exchange, nbx / nbx_ack / alltoall: np 2 758/589/269, np 4
// 1204/1299/675, np 8 3731/3036/2046, np 16 7503/7343/3125; the
// Alltoall of counts + Alltoallv way took 264/749/2865/7992). So the
// selector picks "alltoall" at every np; force "nbx_ack" (or "nbx") with
// WithAlgorithm or GORUN_COLL_SPARSEEXCHANGE for a job of many ranks
// over a network.
//
// A rank may appear in dests several times, and may be the calling rank.
// Waiting is blocking (no polling loop of its own): the rank waits in
// comm's Mprobe and Wait, which yield-poll and park as their Config says.
//
// Collective over c, following the package's calling convention (every
// rank calls it, in the same order as c's other collectives, with the same
// options). data belongs to the call until it returns. The error is a
// fault, or comm.ErrInvalidArgument for len(data) != len(dests) or a bad
// option, or comm.ErrInvalidRank for a destination outside [0, c.Size());
// a message whose size is not a whole number of elements fails with
// comm.ErrTruncate.
func SparseExchange[T comm.Elem](ctx context.Context, c *comm.Comm, dests []int, data [][]T, opts ...Option) ([]SparseMessage[T], error) {
	sys, base := c.Collective()
	cfg, err := setup("sparseexchange", opts)
	if err != nil {
		return nil, wrap("SparseExchange", c, err)
	}
	if len(dests) != len(data) {
		return nil, argErr("SparseExchange", "len(dests) = %d, len(data) = %d", len(dests), len(data))
	}
	for _, d := range dests {
		if d < 0 || d >= c.Size() {
			return nil, fmt.Errorf("collectives: SparseExchange: %w: destination %d outside [0,%d)", comm.ErrInvalidRank, d, c.Size())
		}
	}
	sp := c.BeginCollective("SparseExchange", -1, base) // observe: stall reports, --stats
	defer sp.End()
	if err := check[T](ctx, c, sys, call{kind: kSparseExchange, root: -1, count: -1}); err != nil {
		return nil, wrap("SparseExchange", c, err)
	}
	var got []SparseMessage[T]
	switch selectSparseExchange(cfg, c.Size()) {
	case "nbx":
		got, err = sparseNBX(ctx, sys, base, dests, data)
	case "nbx_ack":
		got, err = sparseNBXAck(ctx, sys, base, dests, data)
	default:
		got, err = sparseAlltoall(ctx, c, sys, base, dests, data)
	}
	if err != nil {
		return nil, wrap("SparseExchange", c, err)
	}
	slices.SortStableFunc(got, func(a, b SparseMessage[T]) int { return a.Source - b.Source })
	return got, nil
}

// selectSparseExchange is SparseExchange's selector: the forced
// algorithm, else the policy's, alltoall whatever p (see SparseExchange
// for the measurements).
func selectSparseExchange(cfg config, p int) string {
	return string(chooseAlgorithm("sparseexchange", cfg, p, 0, true, layout{}))
}

// The algorithms of SparseExchange (their own files: dsde_nbx.go,
// dsde_nbxack.go, dsde_alltoall.go).
const (
	algNBX      algorithm = "nbx"
	algNBXAck   algorithm = "nbx_ack"
	algAlltoall algorithm = "alltoall"
)

// SparseExchange's entries in select.go's list of names and policy table,
// kept here with its algorithms.
func init() {
	algorithms["sparseexchange"] = []algorithm{algNBX, algNBXAck, algAlltoall}
	policy["sparseexchange"] = []rule{when(anyRanks, anySize, algAlltoall)}
}

// sparseReceiver takes messages of tag tg on sys and starts receiving each
// into a buffer of its size.
type sparseReceiver[T comm.Elem] struct {
	got   []SparseMessage[T]
	recvs []*comm.Request
}

// take starts receiving m; a size that is not a whole number of elements
// is taken off the sender's hands and reported.
func (s *sparseReceiver[T]) take(ctx context.Context, m *comm.Message) error {
	st := m.Status()
	es := comm.SizeOf[T]()
	if st.Bytes%es != 0 {
		m.RecvAlloc(ctx)
		return fmt.Errorf("from rank %d: %d bytes, not a whole number of %d-byte elements: %w", st.Source, st.Bytes, es, comm.ErrTruncate)
	}
	buf := make([]T, st.Bytes/es)
	s.recvs = append(s.recvs, comm.Imrecv(m, buf))
	s.got = append(s.got, SparseMessage[T]{Source: st.Source, Data: buf})
	return nil
}

// sparseConsensus is the loop of the NBX algorithms: it takes every
// message of tag tg that arrives (calling onTake after each) until bg,
// run on a goroutine of its own with a context that ends the loop when bg
// returns, has returned. It returns bg's error or the loop's.
func sparseConsensus[T comm.Elem](ctx context.Context, sys *comm.Comm, tg int, s *sparseReceiver[T], bg func(ctx context.Context) error, onTake func(src int)) error {
	pctx, stop := context.WithCancel(ctx)
	defer stop()
	var bgErr error
	bgDone := make(chan struct{})
	go func() {
		defer close(bgDone)
		defer stop()
		bgErr = bg(pctx)
	}()
	var err error
	for {
		var m *comm.Message
		m, err = sys.Mprobe(pctx, comm.AnySource, tg)
		if err != nil {
			if ctx.Err() == nil && pctx.Err() != nil {
				err = nil // bg has returned
			}
			break
		}
		src := m.Status().Source
		if err = s.take(ctx, m); err != nil {
			break
		}
		onTake(src)
	}
	stop()
	<-bgDone
	if err == nil {
		err = bgErr
	}
	return err
}
