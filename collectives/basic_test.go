package collectives_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// TestBarrier checks, with every algorithm, that no rank leaves a Barrier
// before every rank has entered it: the ranks of a test share a process,
// so each counts its arrival in a shared counter before the call and
// checks the count after it.
func TestBarrier(t *testing.T) {
	for _, np := range nps(t) {
		t.Run(fmt.Sprintf("np=%d", np), func(t *testing.T) {
			var arrived atomic.Int64
			commtest.Run(t, np, testCfg, func(ctx context.Context, c *comm.Comm) error {
				round := 0
				for name, opts := range sorted(algs("barrier")) {
					for range 3 {
						round++
						arrived.Add(1)
						if err := collectives.Barrier(ctx, c, opts...); err != nil {
							return fmt.Errorf("%s: %w", name, err)
						}
						if got, want := arrived.Load(), int64(round*np); got < want {
							return fmt.Errorf("%s: left barrier %d with %d arrivals, want %d", name, round, got, want)
						}
					}
				}
				return nil
			})
		})
	}
}

func bcastCase[T comm.Elem](ctx context.Context, c *comm.Comm, gen func(int) T) error {
	var ck checker
	p := c.Size()
	for name, opts := range sorted(algs("bcast")) {
		for _, n := range counts {
			for _, root := range []int{0, p - 1, p / 2} {
				buf := make([]T, n)
				want := make([]T, n)
				for i := range want {
					want[i] = gen(i + root)
				}
				if c.Rank() == root {
					copy(buf, want)
				}
				if err := collectives.Bcast(ctx, c, buf, root, opts...); err != nil {
					return fmt.Errorf("%s n=%d root=%d: %w", name, n, root, err)
				}
				ck.add(compare(buf, want, 0), "bcast %T %s n=%d root=%d", buf, name, n, root)
			}
		}
	}
	return ck.err()
}

func TestBcast(t *testing.T) {
	forNP(t, func(ctx context.Context, c *comm.Comm) error {
		return all(
			bcastCase(ctx, c, func(i int) float64 { return float64(i) * 1.5 }),
			bcastCase(ctx, c, func(i int) int16 { return int16(i) }),
			bcastCase(ctx, c, func(i int) complex64 { return complex(float32(i), 1) }),
		)
	})
}

func allreduceCase[T comm.Elem](ctx context.Context, c *comm.Comm, rc redCase[T]) error {
	var ck checker
	p, r := c.Size(), c.Rank()
	for name, opts := range sorted(algs("allreduce")) {
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
