package collectives_test

import (
	"context"
	"testing"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
)

func scanCase[T comm.Elem](ctx context.Context, c *comm.Comm, rc redCase[T]) error {
	var ck checker
	r := c.Rank()
	for _, n0 := range counts {
		n := evenCount(rc.op, n0)
		src := rc.data(r, n)
		dst := make([]T, n)
		if err := collectives.Scan(ctx, c, dst, src, rc.op); err != nil {
			return err
		}
		ck.add(compare(dst, rc.prefix(0, r+1, n), rc.tol), "scan %s n=%d", rc.name, n)
		if err := collectives.Scan(ctx, c, src, nil, rc.op, collectives.InPlace()); err != nil {
			return err
		}
		ck.add(compare(src, rc.prefix(0, r+1, n), rc.tol), "scan %s n=%d in place", rc.name, n)
		src = rc.data(r, n)
		if err := collectives.Exscan(ctx, c, dst, src, rc.op); err != nil {
			return err
		}
		if r > 0 {
			ck.add(compare(dst, rc.prefix(0, r, n), rc.tol), "exscan %s n=%d", rc.name, n)
		}
		if err := collectives.Exscan(ctx, c, src, nil, rc.op, collectives.InPlace()); err != nil {
			return err
		}
		if r > 0 {
			ck.add(compare(src, rc.prefix(0, r, n), rc.tol), "exscan %s n=%d in place", rc.name, n)
		} else {
			ck.add(compare(src, rc.data(0, n), 0), "exscan rank 0 in place changed dst")
		}
	}
	return ck.err()
}

func TestScan(t *testing.T) {
	forNP(t, func(ctx context.Context, c *comm.Comm) error {
		return all(
			scanCase(ctx, c, f64Sum),
			scanCase(ctx, c, affineCase),
			scanCase(ctx, c, i64Prod),
			scanCase(ctx, c, maxLoc),
		)
	})
}
