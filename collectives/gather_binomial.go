package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// subtree is the number of relative ranks in the binomial subtree of
// relative rank v: [v, v+lowbit(v)) cut at p (all p for v = 0).
func subtree(v, p int) int {
	if v == 0 {
		return p
	}
	return min(v&-v, p-v)
}

// gatherBinomial: relative rank v gathers the blocks of its subtree
// [v, v+lowbit(v)) from its children (which send when their own subtree is
// complete) and forwards them to its parent. ceil(log2 p) steps; root
// reorders relative blocks into rank order if root != 0. A child whose
// message does not fill its blocks makes its ancestors up to root fail
// (ErrTruncate) rather than forward stale data or leave root waiting.
func gatherBinomial[T comm.Elem](ctx context.Context, c *comm.Comm, base int, dst, src []T, root, n int) (err error) {
	p, r := c.Size(), c.Rank()
	vr := mod(r-root, p)
	var buf []T
	switch {
	case vr == 0 && root == 0:
		buf = dst
	case vr == 0:
		buf = getBuf[T](p * n)
		copy(buf, dst[r*n:(r+1)*n])
	default:
		buf = getBuf[T](subtree(vr, p) * n)
		copy(buf, src)
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
			reqs = append(reqs, comm.Irecv(c, buf[mask*n:(mask+cnt)*n], mod(child+root, p), base))
		}
	}
	// fail passes a failure up: an empty message is short for the
	// parent too, so that root fails instead of waiting for this subtree
	// (with n == 0 it is what the parent expects, and nothing is stale).
	fail := func(err error) error {
		if vr != 0 {
			send(ctx, c, buf[:0], mod(vr-(vr&-vr)+root, p), base)
		}
		return err
	}
	if err := waitAll(ctx, reqs...); err != nil {
		return fail(err)
	}
	k := 0
	for mask := 1; mask < p && vr&mask == 0; mask <<= 1 {
		if child := vr + mask; child < p {
			cnt := min(mask, p-child)
			if err := checkSize(reqs[k], buf[mask*n:(mask+cnt)*n], mod(child+root, p)); err != nil {
				return fail(err)
			}
			k++
		}
	}
	if vr != 0 {
		return send(ctx, c, buf, mod(vr-(vr&-vr)+root, p), base)
	}
	if root != 0 {
		for v := range p {
			i := mod(v+root, p)
			copy(dst[i*n:(i+1)*n], buf[v*n:(v+1)*n])
		}
	}
	return nil
}
