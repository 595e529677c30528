package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// Bcast copies root's buf into buf on every other rank. Every rank passes
// a buffer of the same length.
//
// Algorithms: "binomial" (small messages), "scatter_allgather" (van de
// Geijn: binomial scatter of p blocks, then a ring allgather; medium),
// "pipeline" (a chain through the ranks in segments; large), "linear" (the
// root sends to every rank itself; small messages, few ranks),
// "hierarchical" (from root within its host, among the hosts' leaders,
// within every other host: for jobs over several hosts), "shared" (the
// root copies buf into memory the host's ranks share, the others copy it
// out: for a communicator of one host, in a blocking call, up to 4 KiB;
// otherwise, or without shared memory, it falls back to "binomial"). These are the
// usual niches; the package documentation says which one the selector
// picks, as measured. Bcast is always in place: InPlace changes nothing.
//
// Bad arguments, reported before any communication: a root outside
// [0, Size()) is an error wrapping comm.ErrInvalidRank (on every rank), a
// bad option one wrapping comm.ErrInvalidArgument.
func Bcast[T comm.Elem](ctx context.Context, c *comm.Comm, buf []T, root int, opts ...Option) error {
	sys, base := c.Collective()
	sp := c.BeginCollective("Bcast", root, base) // observe: stall reports, --stats
	defer sp.End()
	cfg, err := setup("bcast", opts)
	if err == nil {
		err = badRoot(c, root)
	}
	if err != nil {
		return wrap("Bcast", c, checkBad(ctx, c, sys, kBcast, err))
	}
	k := callOf(kBcast, cfg)
	k.root, k.count = root, len(buf)
	if err = check[T](ctx, c, sys, k); err != nil {
		return wrap("Bcast", c, err)
	}
	p := c.Size()
	if p == 1 {
		return nil
	}
	lay, nodes, err := hostLayout(ctx, c, cfg)
	if err != nil {
		return wrap("Bcast", c, err)
	}
	switch alg := sp.Algorithm(selectBcast(cfg, p, len(buf)*comm.SizeOf[T](), lay), len(buf)*comm.SizeOf[T]()); alg {
	case "hierarchical":
		err = bcastHierarchical(ctx, c, nodes, buf, root, cfg)
	case "binomial":
		err = bcastBinomial(ctx, sys, base, buf, root)
	case "scatter_allgather":
		err = bcastScatterAllgather(ctx, sys, base, buf, root, cfg)
	case "pipeline":
		err = bcastPipeline(ctx, sys, base, buf, root, cfg)
	case "linear":
		err = bcastLinear(ctx, sys, base, buf, root)
	case "shared":
		var st *nodeState
		if st, err = sharedState(ctx, c); st != nil {
			err = bcastShared(ctx, st, buf, root)
		} else if err == nil { // no window: messages
			err = bcastBinomial(ctx, sys, base, buf, root)
		}
	default:
		err = noDispatch("bcast", alg)
	}
	return wrap("Bcast", c, err)
}
