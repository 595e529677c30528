package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// The hierarchical algorithms (allreduce_hierarchical.go,
// bcast_hierarchical.go, barrier_hierarchical.go) run a collective in
// three steps: within each host, among the hosts' leaders, within each
// host again. They use the host and leader communicators of
// comm.Comm.Nodes: made the first time a collective of a communicator
// needs its layout (the selector's choice, or a forced hierarchical
// algorithm), without communication (the job's table of hosts is read
// from its store once per process), and kept with the communicator. They
// follow the communicator's collective order, as its own collectives do;
// a non-blocking collective's Dup has its own.

// hostLayout returns what the selector needs to know of c's hosts, and
// c's Nodes, when the call's algorithm may be hierarchical: chosen by the
// selector, or forced so. A call forced to another algorithm does not
// look (and returns a nil Nodes).
func hostLayout(ctx context.Context, c *comm.Comm, cfg config) (layout, *comm.Nodes, error) {
	if cfg.alg != "" && cfg.alg != string(algHierarchical) && cfg.alg != string(algShared) {
		return layout{}, nil, nil
	}
	n, err := c.Nodes(ctx)
	if err != nil {
		return layout{}, nil, err
	}
	return layout{
		multi:   n.Hosts > 1 && n.MaxLocal > 1,
		blocked: n.Blocked,
		shared:  n.Hosts == 1 && c.Size() > 1 && !cfg.nb && c.SharedMemory(),
	}, n, nil
}

// autoAlgorithm lets the selector choose again, whatever the environment
// forces: the steps of a hierarchical algorithm run on communicators of
// one host, or of one rank per host, where it never picks hierarchical.
var autoAlgorithm = WithAlgorithm("")

// stepOptions are the options of a hierarchical algorithm's steps: the
// selector's choice, and the call's segment size.
func stepOptions(cfg config) []Option {
	if cfg.nb {
		return []Option{autoAlgorithm, WithSegmentSize(cfg.seg), nonBlocking}
	}
	return []Option{autoAlgorithm, WithSegmentSize(cfg.seg)}
}
