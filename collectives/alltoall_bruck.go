package collectives

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// alltoallBruck: rotate so that position i holds the block for rank r+i;
// in round j send every block whose position has bit j set to rank r+2^j
// (packed in one message) and put the blocks received from rank r-2^j in
// the same positions; finally position i holds the block from rank r-i.
// ceil(log2 p) messages of about half the data each: fewer, larger
// messages than pairwise, which pays off for small blocks.
func alltoallBruck[T comm.Elem](ctx context.Context, c *comm.Comm, base int, dst, src []T, n int) (err error) {
	p, r := c.Size(), c.Rank()
	tmp := getBuf[T](p * n)
	pack := getBuf[T]((p/2 + 1) * n)
	unpack := getBuf[T]((p/2 + 1) * n)
	defer func() {
		if err == nil {
			putBuf(tmp)
			putBuf(pack)
			putBuf(unpack)
		}
	}()
	for i := range p {
		j := mod(r+i, p)
		copy(tmp[i*n:(i+1)*n], src[j*n:(j+1)*n])
	}
	for dist, step := 1, 0; dist < p; dist, step = dist*2, step+1 {
		k := 0
		for i := range p {
			if i&dist != 0 {
				copy(pack[k*n:(k+1)*n], tmp[i*n:(i+1)*n])
				k++
			}
		}
		if err := exchange(ctx, c, pack[:k*n], mod(r+dist, p), unpack[:k*n], mod(r-dist, p), tag(base, step)); err != nil {
			return err
		}
		k = 0
		for i := range p {
			if i&dist != 0 {
				copy(tmp[i*n:(i+1)*n], unpack[k*n:(k+1)*n])
				k++
			}
		}
	}
	for i := range p {
		j := mod(r-i, p)
		copy(dst[j*n:(j+1)*n], tmp[i*n:(i+1)*n])
	}
	return nil
}
