package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// Barrier returns once every rank of c has called it. Algorithms:
// "dissemination" (ceil(log2 p) rounds of zero-byte messages, p of them
// per round), "tree" (a binomial fan-in to rank 0 and fan-out from it:
// twice the rounds, 2(p-1) messages in all), "hierarchical" (a fan-in
// to each host's leader, a Barrier among the leaders, a fan-out: for jobs
// over several hosts) and "shared" (each rank stores its arrival in memory
// the host's ranks share and waits for everyone's: for a communicator of
// one host, in a blocking call; otherwise, or without shared memory, it
// falls back to "dissemination"); the package documentation says which
// one the selector picks.
//
// Bad arguments: a bad option (an unknown algorithm name, a negative
// segment size) is an error wrapping comm.ErrInvalidArgument, before any
// communication.
func Barrier(ctx context.Context, c *comm.Comm, opts ...Option) error {
	sys, base := c.Collective()
	sp := c.BeginCollective("Barrier", -1, base) // observe: stall reports, --stats
	defer sp.End()
	cfg, err := setup("barrier", opts)
	if err != nil {
		return wrap("Barrier", c, checkBad(ctx, c, sys, kBarrier, err))
	}
	if err = check[byte](ctx, c, sys, callOf(kBarrier, cfg)); err != nil {
		return wrap("Barrier", c, err)
	}
	lay, nodes, err := hostLayout(ctx, c, cfg)
	if err != nil {
		return wrap("Barrier", c, err)
	}
	switch alg := sp.Algorithm(selectBarrier(cfg, c.Size(), lay), 0); alg {
	case "hierarchical":
		err = barrierHierarchical(ctx, nodes, cfg)
	case "shared":
		var st *nodeState
		if st, err = sharedState(ctx, c); st != nil {
			err = barrierShared(ctx, st)
		} else if err == nil { // no window: messages
			err = barrierDissemination(ctx, sys, base)
		}
	case "tree":
		err = barrierTree(ctx, sys, base)
	case "dissemination":
		err = barrierDissemination(ctx, sys, base)
	default:
		err = noDispatch("barrier", alg)
	}
	return wrap("Barrier", c, err)
}
