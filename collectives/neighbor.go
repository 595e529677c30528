package collectives

import (
	"context"
	"fmt"

	"github.com/gorun-hpc/gorun/comm"
)

// Topology is a communicator with neighbours: a Cartesian grid (*Cart) or
// a distributed graph (*DistGraph). The neighbourhood collectives
// (NeighborAllgather(v), NeighborAlltoall(v)) exchange data with a rank's
// neighbours only, in the topology's neighbour order:
//
//   - Cart: for each dimension in turn, the neighbour at coordinate -1,
//     then the one at +1 (MPI's order; the same list serves as sources and
//     destinations). A neighbour past the edge of a non-periodic dimension
//     is ProcNull: nothing is sent to it, and its receive block is left
//     unchanged, but it keeps its slot. Along a periodic dimension of size
//     1 or 2 a rank is its own or its peer's neighbour on both sides; the
//     block sent towards -1 arrives in the receiver's +1 slot and the other
//     way round, as MPI-3.1 specifies.
//   - DistGraph: the sources and destinations as given to
//     DistGraphCreateAdjacent, in that order. Several edges between the
//     same two ranks carry their blocks in list order.
//
// The neighbourhood collectives are collective over the topology's
// communicator (every rank calls them, in the same order as its other
// collectives) and follow the package's calling convention; a bad argument
// is an error wrapping comm.ErrInvalidArgument.
type Topology interface {
	// Comm returns the topology's communicator.
	Comm() *comm.Comm
	neighborhood() neighbors
}

// neighbors is a rank's neighbour lists. cart: the lists are a Cart's
// (2 slots a dimension), and a block sent from slot k arrives in the
// receiver's slot k^1; otherwise blocks match in list order.
type neighbors struct {
	c              *comm.Comm
	sources, dests []int
	cart           bool
}

// sendTag and recvTag give the step of slot k's message.
func (nb neighbors) sendTag(k int) int {
	if nb.cart {
		return k
	}
	return 0
}

func (nb neighbors) recvTag(k int) int {
	if nb.cart {
		return k ^ 1
	}
	return 0
}

func (g *Cart) neighborhood() neighbors {
	nb := make([]int, 0, 2*len(g.dims))
	for d := range g.dims {
		src, dst := g.Shift(d, 1)
		nb = append(nb, src, dst)
	}
	return neighbors{c: g.c, sources: nb, dests: nb, cart: true}
}

func argErr(coll, format string, args ...any) error {
	return fmt.Errorf("collectives: %s: %w: %s", coll, comm.ErrInvalidArgument, fmt.Sprintf(format, args...))
}

// vblocks checks counts and displs (nil: packed) of k blocks in a buffer
// of n elements and returns the blocks as spans.
func vblocks(coll, what string, n int, counts, displs []int, k int) ([]span, error) {
	if len(counts) != k {
		return nil, argErr(coll, "len(%s counts) = %d, want %d (one per neighbour)", what, len(counts), k)
	}
	if displs == nil {
		displs = packedDispls(counts)
	} else if len(displs) != k {
		return nil, argErr(coll, "len(%s displs) = %d, want %d", what, len(displs), k)
	}
	out := make([]span, k)
	for i := range out {
		if counts[i] < 0 || displs[i] < 0 || displs[i]+counts[i] > n {
			return nil, argErr(coll, "%s block %d (count %d at %d) outside a buffer of %d", what, i, counts[i], displs[i], n)
		}
		out[i] = span{displs[i], displs[i] + counts[i]}
	}
	return out, nil
}

// neighborExchange sends src[sblk[k]] to neighbour dests[k] and receives
// dst[rblk[k]] from sources[k], skipping ProcNull.
func neighborExchange[T comm.Elem](ctx context.Context, coll string, nb neighbors, dst []T, rblk []span, src []T, sblk []span) error {
	sys, base := nb.c.Collective()
	sp := nb.c.BeginCollective(coll, -1, base) // observe: stall reports, --stats
	defer sp.End()
	if err := check[T](ctx, nb.c, sys, call{kind: kindNamed(coll), root: -1, count: -1}); err != nil {
		return wrap(coll, nb.c, err)
	}
	reqs := make([]*comm.Request, 0, len(rblk)+len(sblk))
	type posted struct {
		r   *comm.Request
		buf []T
		src int
	}
	recvs := make([]posted, 0, len(rblk))
	for k, s := range nb.sources {
		if s == ProcNull {
			continue
		}
		buf := dst[rblk[k].lo:rblk[k].hi]
		r := comm.Irecv(sys, buf, s, tag(base, nb.recvTag(k)))
		reqs = append(reqs, r)
		recvs = append(recvs, posted{r, buf, s})
	}
	var err error
	for k, d := range nb.dests {
		if d == ProcNull {
			continue
		}
		if reqs, err = startSend(reqs, sys, src[sblk[k].lo:sblk[k].hi], d, tag(base, nb.sendTag(k))); err != nil {
			drain(reqs)
			return wrap(coll, nb.c, err)
		}
	}
	if err := waitAll(ctx, reqs...); err != nil {
		return wrap(coll, nb.c, err)
	}
	for _, p := range recvs {
		if err := checkSize(p.r, p.buf, p.src); err != nil {
			return wrap(coll, nb.c, err)
		}
	}
	for _, r := range reqs {
		r.Free()
	}
	return nil
}

// equalBlocks is k blocks of n elements, one after another.
func equalBlocks(k, n int) []span {
	out := make([]span, k)
	for i := range out {
		out[i] = span{i * n, (i + 1) * n}
	}
	return out
}

// NeighborAllgather sends src to every neighbour of t and receives each
// neighbour's src into its block of dst (MPI_Neighbor_allgather): dst
// holds one block of len(src) elements per source neighbour, in the
// topology's order (see Topology), and a ProcNull neighbour's block is
// left unchanged. len(src) must be the same on every rank. The error is a
// fault, or comm.ErrInvalidArgument for len(dst) other than len(src)
// times the number of sources.
func NeighborAllgather[T comm.Elem](ctx context.Context, t Topology, dst, src []T) error {
	nb := t.neighborhood()
	n := len(src)
	if len(dst) != n*len(nb.sources) {
		return argErr("NeighborAllgather", "len(dst) = %d, want %d (%d sources of %d)", len(dst), n*len(nb.sources), len(nb.sources), n)
	}
	whole := make([]span, len(nb.dests))
	for i := range whole {
		whole[i] = span{0, n}
	}
	return neighborExchange(ctx, "NeighborAllgather", nb, dst, equalBlocks(len(nb.sources), n), src, whole)
}

// NeighborAllgatherv is NeighborAllgather with a count per source
// (MPI_Neighbor_allgatherv): source k's src lands in dst[displs[k]:
// displs[k]+counts[k]] (displs nil: packed in order), and counts[k] must
// be the length of that neighbour's src. A message of another length
// fails with comm.ErrTruncate; bad counts or displs, with
// comm.ErrInvalidArgument.
func NeighborAllgatherv[T comm.Elem](ctx context.Context, t Topology, dst []T, counts, displs []int, src []T) error {
	nb := t.neighborhood()
	rblk, err := vblocks("NeighborAllgatherv", "receive", len(dst), counts, displs, len(nb.sources))
	if err != nil {
		return err
	}
	whole := make([]span, len(nb.dests))
	for i := range whole {
		whole[i] = span{0, len(src)}
	}
	return neighborExchange(ctx, "NeighborAllgatherv", nb, dst, rblk, src, whole)
}

// NeighborAlltoall sends block k of src to destination neighbour k and
// receives block k of dst from source neighbour k
// (MPI_Neighbor_alltoall); blocks are len(src)/len(destinations)
// elements, the same on every rank, in the topology's order (see
// Topology). A ProcNull neighbour's receive block is left unchanged. The
// error is a fault, or comm.ErrInvalidArgument when len(src) is not a
// multiple of the destinations or len(dst) is not that block size times
// the sources.
func NeighborAlltoall[T comm.Elem](ctx context.Context, t Topology, dst, src []T) error {
	nb := t.neighborhood()
	nd, ns := len(nb.dests), len(nb.sources)
	if nd == 0 && len(src) != 0 || nd > 0 && len(src)%nd != 0 {
		return argErr("NeighborAlltoall", "len(src) = %d is not a multiple of the %d destinations", len(src), nd)
	}
	n := 0
	if nd > 0 {
		n = len(src) / nd
	} else if ns > 0 {
		n = len(dst) / ns
	}
	if len(dst) != n*ns {
		return argErr("NeighborAlltoall", "len(dst) = %d, want %d (%d sources of %d)", len(dst), n*ns, ns, n)
	}
	return neighborExchange(ctx, "NeighborAlltoall", nb, dst, equalBlocks(ns, n), src, equalBlocks(nd, n))
}

// NeighborAlltoallv is NeighborAlltoall with counts and displacements
// per neighbour (MPI_Neighbor_alltoallv): block k of src is
// src[sdispls[k]:sdispls[k]+scounts[k]], sent to destination k; block k of
// dst is dst[rdispls[k]:rdispls[k]+rcounts[k]], received from source k
// (nil displacements: packed in order). rcounts[k] must equal the count
// that source sends this rank, or the call fails with comm.ErrTruncate;
// bad counts or displacements fail with comm.ErrInvalidArgument.
func NeighborAlltoallv[T comm.Elem](ctx context.Context, t Topology, dst []T, rcounts, rdispls []int, src []T, scounts, sdispls []int) error {
	nb := t.neighborhood()
	rblk, err := vblocks("NeighborAlltoallv", "receive", len(dst), rcounts, rdispls, len(nb.sources))
	if err != nil {
		return err
	}
	sblk, err := vblocks("NeighborAlltoallv", "send", len(src), scounts, sdispls, len(nb.dests))
	if err != nil {
		return err
	}
	return neighborExchange(ctx, "NeighborAlltoallv", nb, dst, rblk, src, sblk)
}
