package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// barrierDissemination: in round k every rank signals rank+2^k and waits
// for rank-2^k; after ceil(log2 p) rounds every rank has heard, directly or
// not, from every other.
func barrierDissemination(ctx context.Context, c *comm.Comm, base int) error {
	p, r := c.Size(), c.Rank()
	var none []byte
	for k, step := 1, 0; k < p; k, step = k*2, step+1 {
		if err := exchange(ctx, c, none, mod(r+k, p), none, mod(r-k, p), tag(base, step)); err != nil {
			return err
		}
	}
	return nil
}
