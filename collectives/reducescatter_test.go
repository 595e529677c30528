package collectives_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
)

func reduceScatterCase[T comm.Elem](ctx context.Context, c *comm.Comm, rc redCase[T]) error {
	var ck checker
	p, r := c.Size(), c.Rank()
	w := max(rc.op.Width, 1)
	for name, opts := range sorted(algs("reducescatter")) {
		for _, n0 := range counts {
			// Uneven counts: rank i gets about n0/p units, some zero.
			cnt := make([]int, p)
			for i := range cnt {
				cnt[i] = w * ((n0 + i) / p)
				if i%3 == 1 {
					cnt[i] = w * (n0 / (p + 1))
				}
			}
			total := 0
			for _, x := range cnt {
				total += x
			}
			lo := 0
			for i := range r {
				lo += cnt[i]
			}
			want := rc.prefix(0, p, total)[lo : lo+cnt[r]]
			src := rc.data(r, total)
			dst := make([]T, cnt[r])
			if err := collectives.ReduceScatter(ctx, c, dst, src, cnt, rc.op, opts...); err != nil {
				return fmt.Errorf("%s %s n=%d: %w", rc.name, name, n0, err)
			}
			ck.add(compare(dst, want, rc.tol), "reducescatter %s %s n=%d", rc.name, name, n0)
			if err := collectives.ReduceScatter(ctx, c, src, nil, cnt, rc.op, inPlace(opts)...); err != nil {
				return fmt.Errorf("%s %s n=%d in place: %w", rc.name, name, n0, err)
			}
			ck.add(compare(src[:cnt[r]], want, rc.tol), "reducescatter %s %s n=%d in place", rc.name, name, n0)
			// Block variant.
			nb := w * (n0 / 4)
			src = rc.data(r, p*nb)
			dst = make([]T, nb)
			if err := collectives.ReduceScatterBlock(ctx, c, dst, src, rc.op, opts...); err != nil {
				return fmt.Errorf("%s %s block n=%d: %w", rc.name, name, nb, err)
			}
			ck.add(compare(dst, rc.prefix(0, p, p*nb)[r*nb:(r+1)*nb], rc.tol), "reducescatterblock %s %s n=%d", rc.name, name, nb)
		}
	}
	return ck.err()
}

func TestReduceScatter(t *testing.T) {
	forNP(t, func(ctx context.Context, c *comm.Comm) error {
		return all(
			reduceScatterCase(ctx, c, f64Sum),
			reduceScatterCase(ctx, c, affineCase),
			reduceScatterCase(ctx, c, maxLoc),
			reduceScatterCase(ctx, c, u8Or),
		)
	})
}
