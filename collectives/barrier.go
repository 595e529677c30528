package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// Barrier returns once every rank of c has called it. Algorithms:
// "dissemination" (ceil(log2 p) rounds of zero-byte messages, p of them
// per round) and "tree" (a binomial fan-in to rank 0 and fan-out from it:
// twice the rounds, 2(p-1) messages in all); the package documentation
// says which one the selector picks.
func Barrier(ctx context.Context, c *comm.Comm, opts ...Option) error {
	sys, base := c.Collective()
	cfg := configure("barrier", opts)
	var err error
	switch selectBarrier(cfg, c.Size()) {
	case "tree":
		err = barrierTree(ctx, sys, base)
	default:
		err = barrierDissemination(ctx, sys, base)
	}
	return wrap("Barrier", c, err)
}
