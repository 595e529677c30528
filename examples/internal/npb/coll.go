package npb

import (
	"context"
	"fmt"

	"github.com/gorun-hpc/gorun/comm"
)

// The helpers in this file are small collectives over comm's point-to-point
// calls, in the communicator's collective context (Comm.Collective), so they
// never match user traffic. They exist because package collectives was not
// available when the NPB ports were written; they are deterministic: every
// reduction combines the ranks' contributions in rank order, so all ranks
// get bit-identical results.

// Real is the set of element types the reductions here accept.
type Real interface {
	~int | ~int32 | ~int64 | ~uint32 | ~uint64 | ~float32 | ~float64
}

func reduceInPlace[T Real](ctx context.Context, c *comm.Comm, buf []T, op func(a, b T) T) error {
	n := c.Size()
	if n == 1 {
		return nil
	}
	sys, tag := c.Collective()
	if c.Rank() != 0 {
		if err := comm.Send(ctx, sys, buf, 0, tag); err != nil {
			return err
		}
		_, err := comm.Recv(ctx, sys, buf, 0, tag+1)
		return err
	}
	tmp := make([]T, len(buf))
	for r := 1; r < n; r++ {
		if _, err := comm.Recv(ctx, sys, tmp, r, tag); err != nil {
			return err
		}
		for i := range buf {
			buf[i] = op(buf[i], tmp[i])
		}
	}
	reqs := make([]*comm.Request, 0, n-1)
	for r := 1; r < n; r++ {
		reqs = append(reqs, comm.Isend(sys, buf, r, tag+1))
	}
	return comm.WaitAll(ctx, reqs...)
}

// AllreduceSum replaces buf on every rank by the element-wise sum of all
// ranks' buf, added in rank order.
func AllreduceSum[T Real](ctx context.Context, c *comm.Comm, buf []T) error {
	return reduceInPlace(ctx, c, buf, func(a, b T) T { return a + b })
}

// AllreduceMax replaces buf on every rank by the element-wise maximum.
func AllreduceMax[T Real](ctx context.Context, c *comm.Comm, buf []T) error {
	return reduceInPlace(ctx, c, buf, func(a, b T) T { return max(a, b) })
}

// AllreduceMin replaces buf on every rank by the element-wise minimum.
func AllreduceMin[T Real](ctx context.Context, c *comm.Comm, buf []T) error {
	return reduceInPlace(ctx, c, buf, func(a, b T) T { return min(a, b) })
}

// Barrier returns once every rank of c has entered it.
func Barrier(ctx context.Context, c *comm.Comm) error {
	var z [1]int32
	return reduceInPlace(ctx, c, z[:], func(a, b int32) int32 { return a })
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
