package collectives_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
)

func allreduceCase[T comm.Elem](ctx context.Context, c *comm.Comm, rc redCase[T]) error {
	return allreduceCaseAlgs(ctx, c, rc, algs("allreduce"))
}

// allreduceCaseAlgs is allreduceCase with the algorithms of algm.
func allreduceCaseAlgs[T comm.Elem](ctx context.Context, c *comm.Comm, rc redCase[T], algm map[string][]collectives.Option) error {
	var ck checker
	p, r := c.Size(), c.Rank()
	for name, opts := range sorted(algm) {
		for _, n0 := range counts {
			n := evenCount(rc.op, n0)
			want := rc.prefix(0, p, n)
			src := rc.data(r, n)
			dst := rc.data(r+p, n) // stale values: every element must be written
			if err := collectives.Allreduce(ctx, c, dst, src, rc.op, opts...); err != nil {
				return fmt.Errorf("%s %s n=%d: %w", rc.name, name, n, err)
			}
			ck.add(compare(dst, want, rc.tol), "allreduce %s %s n=%d", rc.name, name, n)
			ck.add(compare(src, rc.data(r, n), 0), "allreduce %s %s n=%d modified src", rc.name, name, n)
			// In place.
			if err := collectives.Allreduce(ctx, c, src, nil, rc.op, inPlace(opts)...); err != nil {
				return fmt.Errorf("%s %s n=%d in place: %w", rc.name, name, n, err)
			}
			ck.add(compare(src, want, rc.tol), "allreduce %s %s n=%d in place", rc.name, name, n)
		}
	}
	return ck.err()
}

func TestAllreduce(t *testing.T) {
	forNP(t, func(ctx context.Context, c *comm.Comm) error {
		return all(
			allreduceCase(ctx, c, f64Sum),
			allreduceCase(ctx, c, affineCase),
			allreduceCase(ctx, c, maxLoc),
			allreduceCase(ctx, c, f32Sum),
			allreduceCase(ctx, c, c128Sum),
			allreduceCase(ctx, c, i32Max),
			allreduceCase(ctx, c, i32Min),
			allreduceCase(ctx, c, i64Prod),
			allreduceCase(ctx, c, u8Xor),
			allreduceCase(ctx, c, u8Or),
			allreduceCase(ctx, c, i8LAnd),
			allreduceCase(ctx, c, i8LXor),
			allreduceCase(ctx, c, minLoc),
			allreduceCase(ctx, c, userMul),
		)
	})
}
