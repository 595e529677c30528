package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// allgatherRecDoubling: in round j each rank exchanges the 2^j blocks it
// holds (an aligned run containing its own) with rank ^ 2^j, directly in
// dst. log2 p rounds; p must be a power of two (the selector ensures it).
func allgatherRecDoubling[T comm.Elem](ctx context.Context, c *comm.Comm, base int, dst []T, n int) error {
	p, r := c.Size(), c.Rank()
	for mask, step := 1, 0; mask < p; mask, step = mask<<1, step+1 {
		peer := r ^ mask
		mine, theirs := r&^(mask-1), peer&^(mask-1)
		if err := exchange(ctx, c, dst[mine*n:(mine+mask)*n], peer,
			dst[theirs*n:(theirs+mask)*n], peer, tag(base, step)); err != nil {
			return err
		}
	}
	return nil
}
