package collectives_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

func reduceCase[T comm.Elem](ctx context.Context, c *comm.Comm, rc redCase[T]) error {
	var ck checker
	p, r := c.Size(), c.Rank()
	for name, opts := range sorted(algs("reduce")) {
		for _, n0 := range counts {
			n := evenCount(rc.op, n0)
			want := rc.prefix(0, p, n)
			for _, root := range []int{0, p - 1, p / 2} {
				src := rc.data(r, n)
				var dst []T
				if r == root {
					dst = rc.data(r+p, n) // stale values: every element must be written
				}
				if err := collectives.Reduce(ctx, c, dst, src, rc.op, root, opts...); err != nil {
					return fmt.Errorf("%s %s n=%d root=%d: %w", rc.name, name, n, root, err)
				}
				if r == root {
					ck.add(compare(dst, want, rc.tol), "reduce %s %s n=%d root=%d", rc.name, name, n, root)
				}
				ck.add(compare(src, rc.data(r, n), 0), "reduce %s %s modified src", rc.name, name)
				// In place on root.
				var s2 []T
				if r == root {
					dst, s2 = src, nil
				} else {
					dst, s2 = nil, src
				}
				if err := collectives.Reduce(ctx, c, dst, s2, rc.op, root, inPlace(opts)...); err != nil {
					return fmt.Errorf("%s %s n=%d root=%d in place: %w", rc.name, name, n, root, err)
				}
				if r == root {
					ck.add(compare(dst, want, rc.tol), "reduce %s %s n=%d root=%d in place", rc.name, name, n, root)
				}
			}
		}
	}
	return ck.err()
}

func TestReduce(t *testing.T) {
	forNP(t, func(ctx context.Context, c *comm.Comm) error {
		return all(
			reduceCase(ctx, c, f64Sum),
			reduceCase(ctx, c, affineCase),
			reduceCase(ctx, c, maxLoc),
			reduceCase(ctx, c, i32Min),
			reduceCase(ctx, c, u8Xor),
			reduceCase(ctx, c, f32Sum),
		)
	})
}

// TestReduceLargeInPlace: above the size where the selector changes
// algorithm, a root reducing in place (src nil) must pick the same
// algorithm as the other ranks, which see the size of their src.
func TestReduceLargeInPlace(t *testing.T) {
	const n = 3 << 18 // 6 MiB of float64
	commtest.Run(t, 4, comm.Config{}, func(ctx context.Context, c *comm.Comm) error {
		buf := make([]float64, n)
		for i := range buf {
			buf[i] = float64(c.Rank() + i%5)
		}
		var dst, src []float64
		if c.Rank() == 1 {
			dst = buf
		} else {
			src = buf
		}
		if err := collectives.Reduce(ctx, c, dst, src, collectives.Sum[float64](), 1, collectives.InPlace()); err != nil {
			return err
		}
		if c.Rank() == 1 {
			for i, v := range dst {
				if want := float64(6 + 4*(i%5)); v != want {
					return fmt.Errorf("dst[%d] = %v, want %v", i, v, want)
				}
			}
		}
		return nil
	})
}
