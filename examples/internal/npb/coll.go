package npb

import (
	"context"
	"fmt"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
)

// Reductions and barriers come from package collectives; the helpers
// below only shorten the in-place calls the ports make. Alltoall and
// Alltoallv are small point-to-point implementations, in the
// communicator's collective context (Comm.Collective) so they never match
// user traffic, until package collectives provides them.

// Real is the set of element types the reductions here accept.
type Real interface {
	~int | ~int32 | ~int64 | ~uint32 | ~uint64 | ~float32 | ~float64
}

// AllreduceSum replaces buf on every rank by the element-wise sum of all
// ranks' buf.
func AllreduceSum[T Real](ctx context.Context, c *comm.Comm, buf []T) error {
	return collectives.Allreduce(ctx, c, buf, nil, collectives.Sum[T]())
}

// AllreduceMax replaces buf on every rank by the element-wise maximum.
func AllreduceMax[T Real](ctx context.Context, c *comm.Comm, buf []T) error {
	return collectives.Allreduce(ctx, c, buf, nil, collectives.Max[T]())
}

// Barrier returns once every rank of c has entered it.
func Barrier(ctx context.Context, c *comm.Comm) error {
	return collectives.Barrier(ctx, c)
}

// Alltoall sends src[j*k:(j+1)*k] to rank j and receives rank j's block
// into dst[j*k:(j+1)*k], with k = len(src)/Size.
func Alltoall[T comm.Elem](ctx context.Context, c *comm.Comm, dst, src []T) error {
	n := c.Size()
	if len(src)%n != 0 || len(dst) != len(src) {
		return fmt.Errorf("npb.Alltoall: lengths %d, %d not a multiple of %d", len(dst), len(src), n)
	}
	k := len(src) / n
	counts := make([]int, n)
	displs := make([]int, n)
	for j := range n {
		counts[j] = k
		displs[j] = j * k
	}
	return Alltoallv(ctx, c, dst, counts, displs, src, counts, displs)
}

// Alltoallv sends src[sdispls[j]:+scounts[j]] to rank j and receives rank
// j's message into dst[rdispls[j]:+rcounts[j]].
func Alltoallv[T comm.Elem](ctx context.Context, c *comm.Comm, dst []T, rcounts, rdispls []int, src []T, scounts, sdispls []int) error {
	n := c.Size()
	me := c.Rank()
	copy(dst[rdispls[me]:rdispls[me]+rcounts[me]], src[sdispls[me]:sdispls[me]+scounts[me]])
	if n == 1 {
		return nil
	}
	sys, tag := c.Collective()
	reqs := make([]*comm.Request, 0, 2*(n-1))
	for i := 1; i < n; i++ {
		from := (me - i + n) % n
		reqs = append(reqs, comm.Irecv(sys, dst[rdispls[from]:rdispls[from]+rcounts[from]], from, tag))
	}
	for i := 1; i < n; i++ {
		to := (me + i) % n
		reqs = append(reqs, comm.Isend(sys, src[sdispls[to]:sdispls[to]+scounts[to]], to, tag))
	}
	return comm.WaitAll(ctx, reqs...)
}
