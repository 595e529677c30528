package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// bcastBinomial: ranks relative to the root form a binomial tree; a rank
// receives from the rank that differs in its lowest set bit and then sends
// to the ranks below that bit. ceil(log2 p) rounds of the whole message.
func bcastBinomial[T comm.Elem](ctx context.Context, c *comm.Comm, base int, buf []T, root int) error {
	p, r := c.Size(), c.Rank()
	vr := mod(r-root, p)
	mask := 1
	for mask < p {
		if vr&mask != 0 {
			if err := recv(ctx, c, buf, mod(vr-mask+root, p), base); err != nil {
				return err
			}
			break
		}
		mask <<= 1
	}
	var reqs []*comm.Request
	for mask >>= 1; mask > 0; mask >>= 1 {
		if vr+mask < p {
			var err error
			if reqs, err = startSend(reqs, c, buf, mod(vr+mask+root, p), base); err != nil {
				drain(reqs)
				return err
			}
		}
	}
	return waitFree(ctx, reqs...)
}
