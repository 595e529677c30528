package npb

import (
	"context"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
)

// The helpers below only shorten the in-place calls of package
// collectives that the ports make.

// Real is the set of element types the reductions here accept.
type Real interface {
	~int | ~int32 | ~int64 | ~uint32 | ~uint64 | ~float32 | ~float64
}

// AllreduceSum replaces buf on every rank by the element-wise sum of all
// ranks' buf.
func AllreduceSum[T Real](ctx context.Context, c *comm.Comm, buf []T) error {
	return collectives.Allreduce(ctx, c, buf, nil, collectives.Sum[T](), collectives.InPlace())
}

// AllreduceMax replaces buf on every rank by the element-wise maximum.
func AllreduceMax[T Real](ctx context.Context, c *comm.Comm, buf []T) error {
	return collectives.Allreduce(ctx, c, buf, nil, collectives.Max[T](), collectives.InPlace())
}

// Barrier returns once every rank of c has entered it.
func Barrier(ctx context.Context, c *comm.Comm) error {
	return collectives.Barrier(ctx, c)
}
