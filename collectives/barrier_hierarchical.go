package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// barrierHierarchical: a binomial fan-in to each host's leader, a Barrier
// among the leaders (the selector's algorithm), a binomial fan-out from
// each leader. A rank leaves once its leader has left the leaders'
// barrier, which every leader enters only after its whole host has
// entered.
func barrierHierarchical(ctx context.Context, n *comm.Nodes, cfg config) error {
	sys, base := n.Local.Collective()
	return barrierTreeAround(ctx, sys, base, func() error {
		if n.Leaders == nil {
			return nil
		}
		return Barrier(ctx, n.Leaders, stepOptions(cfg, false)...)
	})
}
