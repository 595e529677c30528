package collectives

import (
	"context"
	"slices"
	"sync"

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
// selector's choice, the call's segment size, and InPlace when inPlace.
// A call's few distinct lists are made once and kept (a segment size is
// set per call, but programs use one or two; past maxStepOpts lists a
// new one is made each call), so a small hierarchical call allocates no
// options. The lists are full to their capacity: an append to one copies
// it. Safe for concurrent use.
func stepOptions(cfg config, inPlace bool) []Option {
	k := stepKey{cfg.seg, cfg.nb, inPlace}
	stepOpts.mu.Lock()
	defer stepOpts.mu.Unlock()
	if o, ok := stepOpts.m[k]; ok {
		return o
	}
	o := []Option{autoAlgorithm, WithSegmentSize(cfg.seg)}
	if cfg.nb {
		o = append(o, nonBlocking)
	}
	if inPlace {
		o = append(o, InPlace())
	}
	o = slices.Clip(o)
	if stepOpts.m == nil {
		stepOpts.m = make(map[stepKey][]Option)
	}
	if len(stepOpts.m) < maxStepOpts {
		stepOpts.m[k] = o
	}
	return o
}

const maxStepOpts = 64

type stepKey struct {
	seg         int
	nb, inPlace bool
}

// stepOpts holds stepOptions' lists, under mu.
var stepOpts struct {
	mu sync.Mutex
	m  map[stepKey][]Option
}
