package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// allreduceHierarchical: a Reduce within each host to its leader, an
// Allreduce among the leaders (in place), a Bcast within each host from
// the leader; each step's algorithm is the selector's for its
// communicator. Only one rank per host sends between hosts, once each way
// per leader step. Rank order is kept when each host's ranks are
// consecutive (the selector falls back to rabenseifner for a
// non-commutative op on other layouts).
func allreduceHierarchical[T comm.Elem](ctx context.Context, n *comm.Nodes, dst, in []T, op Op[T], cfg config) error {
	opts := stepOptions(cfg, false)
	var rdst []T
	if n.Local.Rank() == 0 {
		rdst = dst
	}
	if err := Reduce(ctx, n.Local, rdst, in, op, 0, opts...); err != nil {
		return err
	}
	if n.Leaders != nil {
		if err := Allreduce(ctx, n.Leaders, dst, nil, op, stepOptions(cfg, true)...); err != nil {
			return err
		}
	}
	return Bcast(ctx, n.Local, dst, 0, opts...)
}
