package collectives_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
)

func bcastCase[T comm.Elem](ctx context.Context, c *comm.Comm, gen func(int) T) error {
	return bcastCaseAlgs(ctx, c, gen, algs("bcast"))
}

// bcastCaseAlgs is bcastCase with the algorithms of algm.
func bcastCaseAlgs[T comm.Elem](ctx context.Context, c *comm.Comm, gen func(int) T, algm map[string][]collectives.Option) error {
	var ck checker
	p := c.Size()
	for name, opts := range sorted(algm) {
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
