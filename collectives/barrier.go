package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// Barrier returns once every rank of c has called it. Algorithm:
// "dissemination" (ceil(log2 p) rounds of zero-byte messages).
func Barrier(ctx context.Context, c *comm.Comm, opts ...Option) error {
	sys, base := c.Collective()
	configure("barrier", opts)
	return wrap("Barrier", c, barrierDissemination(ctx, sys, base))
}
