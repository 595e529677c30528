package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// bcastLinear: root sends the whole message to every other rank itself.
// One hop for everybody and p-1 sends at the root: when ranks outnumber
// the cores, each forwarding hop of a tree costs the time until the
// forwarding rank is scheduled, which can outweigh the root's extra sends.
func bcastLinear[T comm.Elem](ctx context.Context, c *comm.Comm, base int, buf []T, root int) error {
	p, r := c.Size(), c.Rank()
	if r != root {
		return recv(ctx, c, buf, root, base)
	}
	var small [8]*comm.Request
	reqs := small[:0]
	for i := 1; i < p; i++ {
		reqs = append(reqs, comm.Isend(c, buf, mod(root+i, p), base))
	}
	return waitFree(ctx, reqs...)
}
