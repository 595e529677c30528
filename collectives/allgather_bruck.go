package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// allgatherBruck: in a buffer that starts with the rank's own block, round
// j sends the first min(2^j, p-2^j) blocks to rank-2^j and appends as many
// from rank+2^j; after ceil(log2 p) rounds block i is rank r+i's, and a
// rotation puts the blocks in rank order. Any p.
func allgatherBruck[T comm.Elem](ctx context.Context, c *comm.Comm, base int, dst []T, n int) (err error) {
	p, r := c.Size(), c.Rank()
	tmp := getBuf[T](p * n)
	defer func() {
		if err == nil {
			putBuf(tmp)
		}
	}()
	copy(tmp, dst[r*n:(r+1)*n])
	for dist, step := 1, 0; dist < p; dist, step = dist*2, step+1 {
		cnt := min(dist, p-dist)
		if err := exchange(ctx, c, tmp[:cnt*n], mod(r-dist, p),
			tmp[dist*n:(dist+cnt)*n], mod(r+dist, p), tag(base, step)); err != nil {
			return err
		}
	}
	for i := range p {
		j := mod(r+i, p)
		copy(dst[j*n:(j+1)*n], tmp[i*n:(i+1)*n])
	}
	return nil
}
