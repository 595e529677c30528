package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// bcastHierarchical: on root's host, a Bcast from root to the host's
// ranks (its leader among them); then a Bcast among the leaders from
// root's host's leader; then, on every other host, a Bcast from the
// leader. Each step's algorithm is the selector's for its communicator.
func bcastHierarchical[T comm.Elem](ctx context.Context, c *comm.Comm, n *comm.Nodes, buf []T, root int, cfg config) error {
	opts := stepOptions(cfg, false)
	rootHost := n.Host(root)
	home := n.Host(c.Rank()) == rootHost
	if home {
		if err := Bcast(ctx, n.Local, buf, n.LocalRank(root), opts...); err != nil {
			return err
		}
	}
	if n.Leaders != nil {
		if err := Bcast(ctx, n.Leaders, buf, rootHost, opts...); err != nil {
			return err
		}
	}
	if home {
		return nil
	}
	return Bcast(ctx, n.Local, buf, 0, opts...)
}
