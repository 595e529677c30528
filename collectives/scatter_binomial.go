package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// scatterBinomial: the reverse of gatherBinomial. Relative rank v receives
// the blocks of its subtree [v, v+lowbit(v)) from its parent and hands
// each child the blocks of the child's subtree. ceil(log2 p) steps.
func scatterBinomial[T comm.Elem](ctx context.Context, c *comm.Comm, base int, dst, src []T, root, n int) (err error) {
	p, r := c.Size(), c.Rank()
	vr := mod(r-root, p)
	var buf []T
	switch {
	case vr == 0 && root == 0:
		buf = src
	case vr == 0:
		buf = getBuf[T](p * n)
		for v := range p {
			i := mod(v+root, p)
			copy(buf[v*n:(v+1)*n], src[i*n:(i+1)*n])
		}
	default:
		buf = getBuf[T](subtree(vr, p) * n)
		if err := recv(ctx, c, buf, mod(vr-(vr&-vr)+root, p), base); err != nil {
			return err
		}
		copy(dst, buf[:n])
	}
	if vr != 0 || root != 0 {
		defer func() {
			if err == nil {
				putBuf(buf)
			}
		}()
	}
	var reqs []*comm.Request
	for mask := 1; mask < p && vr&mask == 0; mask <<= 1 {
		if child := vr + mask; child < p {
			cnt := min(mask, p-child)
			reqs = append(reqs, comm.Isend(c, buf[mask*n:(mask+cnt)*n], mod(child+root, p), base))
		}
	}
	return waitFree(ctx, reqs...)
}
