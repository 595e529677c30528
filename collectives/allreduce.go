package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// Allreduce combines src of every rank with op and leaves the result in
// dst on every rank: dst[i] = src_0[i] ⊕ src_1[i] ⊕ ... ⊕ src_{p-1}[i].
// len(dst) == len(src), the same on every rank. With InPlace, or when src
// starts where dst starts, it works in place: dst is the input too.
//
// Algorithms: "recdoubling" (recursive doubling; small messages),
// "rabenseifner" (recursive-halving reduce-scatter then recursive-doubling
// allgather; medium), "ring" (segmented ring reduce-scatter then ring
// allgather; large, commutative ops only: with a non-commutative op it falls
// back to "rabenseifner"), "reduce_bcast" (binomial Reduce to rank 0, then
// binomial Bcast: fewest messages; medium and large at np > 2 on an
// oversubscribed host), "hierarchical" (a Reduce within each host, an
// Allreduce among the hosts' leaders, a Bcast within each host: for jobs
// over several hosts; with a non-commutative op it keeps rank order when
// each host's ranks are consecutive, and otherwise falls back to
// "rabenseifner"), "shared" (each rank copies its contribution into
// memory the host's ranks share, then combines everyone's in rank order:
// for a communicator of one host, in a blocking call, up to 4 KiB;
// otherwise, or without shared memory, it falls back to "recdoubling");
// the package documentation says which one the selector
// picks, as measured. recdoubling and rabenseifner fold the first
// 2(p-2^k) ranks in pairs first, so any p works, and keep rank order.
//
// Bad arguments, reported before any communication as an error wrapping
// comm.ErrInvalidArgument: len(src) != len(dst) (without InPlace), a src
// that is neither nil nor dst with InPlace, a length that is not a multiple
// of op's Width, an op without Fn, a bad option.
func Allreduce[T comm.Elem](ctx context.Context, c *comm.Comm, dst, src []T, op Op[T], opts ...Option) error {
	sys, base := c.Collective()
	sp := c.BeginCollective("Allreduce", -1, base) // observe: stall reports, --stats
	defer sp.End()
	cfg, err := setup("allreduce", opts)
	if err != nil {
		return wrap("Allreduce", c, checkBad(ctx, c, sys, kAllreduce, err))
	}
	// in is the rank's contribution, read by the algorithm's first step.
	in, err := input(cfg, dst, src)
	if err == nil {
		err = op.valid("len(dst)", len(dst))
	}
	if err != nil {
		return wrap("Allreduce", c, checkBad(ctx, c, sys, kAllreduce, err))
	}
	k := callOf(kAllreduce, cfg).withOp(op.Name, op.Width, op.Commutative)
	k.count = len(dst)
	if err = check[T](ctx, c, sys, k); err != nil {
		return wrap("Allreduce", c, err)
	}
	p := c.Size()
	alg := "copy"
	var nodes *comm.Nodes
	if p > 1 {
		lay, n, err := hostLayout(ctx, c, cfg)
		if err != nil {
			return wrap("Allreduce", c, err)
		}
		nodes = n
		alg = sp.Algorithm(selectAllreduce(cfg, p, len(dst)*comm.SizeOf[T](), op.Commutative, lay), len(dst)*comm.SizeOf[T]())
	}
	switch alg {
	case "copy":
		copy(dst, in)
	case "reduce_bcast":
		err = allreduceReduceBcast(ctx, sys, base, dst, in, op)
	case "recdoubling":
		err = allreduceRecDoubling(ctx, sys, base, dst, in, op)
	case "rabenseifner":
		err = allreduceRabenseifner(ctx, sys, base, dst, in, op)
	case "ring":
		copy(dst, in)
		err = allreduceRing(ctx, sys, base, dst, op, cfg)
	case "hierarchical":
		err = allreduceHierarchical(ctx, nodes, dst, in, op, cfg)
	case "shared":
		var st *nodeState
		if st, err = sharedState(ctx, c); st != nil {
			err = allreduceShared(ctx, st, dst, in, op)
		} else if err == nil { // no window: messages
			err = allreduceRecDoubling(ctx, sys, base, dst, in, op)
		}
	default:
		err = noDispatch("allreduce", alg)
	}
	if err == nil {
		op.finish(dst)
	}
	return wrap("Allreduce", c, err)
}
