package collectives_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
)

func gen[T collectives.Real](rank, i int) T { return T(rank*1000 + i%997) }

func gatherCase[T collectives.Real](ctx context.Context, c *comm.Comm) error {
	var ck checker
	p, r := c.Size(), c.Rank()
	mk := func(rank, n int) []T {
		s := make([]T, n)
		for i := range s {
			s[i] = gen[T](rank, i)
		}
		return s
	}
	all := func(n int) []T {
		var s []T
		for i := range p {
			s = append(s, mk(i, n)...)
		}
		return s
	}
	for _, coll := range []string{"gather", "scatter", "allgather", "alltoall"} {
		for name, opts := range sorted(algs(coll)) {
			for _, n := range counts {
				n = min(n, 600)
				for _, root := range []int{0, p - 1, p / 2} {
					for _, inplace := range []bool{false, true} {
						what := fmt.Sprintf("%s %T %s n=%d root=%d inplace=%v", coll, *new(T), name, n, root, inplace)
						var err error
						switch coll {
						case "gather":
							var dst []T
							src := mk(r, n)
							if r == root {
								dst = make([]T, p*n)
								if inplace {
									copy(dst[r*n:], src)
									src = nil
								}
							}
							err = collectives.Gather(ctx, c, dst, src, root, withInPlace(opts, inplace)...)
							if err == nil && r == root {
								ck.add(compare(dst, all(n), 0), "%s", what)
							}
						case "scatter":
							if root != 0 && inplace {
								continue
							}
							var src []T
							dst := make([]T, n)
							if r == root {
								src = all(n)
								if inplace {
									dst = nil
								}
							}
							err = collectives.Scatter(ctx, c, dst, src, root, withInPlace(opts, inplace)...)
							if err == nil && dst != nil {
								ck.add(compare(dst, mk(r, n), 0), "%s", what)
							}
						case "allgather":
							if root != 0 {
								continue
							}
							dst := make([]T, p*n)
							src := mk(r, n)
							if inplace {
								copy(dst[r*n:], src)
								src = nil
							}
							err = collectives.Allgather(ctx, c, dst, src, withInPlace(opts, inplace)...)
							if err == nil {
								ck.add(compare(dst, all(n), 0), "%s", what)
							}
						case "alltoall":
							if root != 0 {
								continue
							}
							// Block j of rank i's src is gen(i*p+j, .).
							src := make([]T, 0, p*n)
							want := make([]T, 0, p*n)
							for j := range p {
								src = append(src, mk(r*p+j, n)...)
								want = append(want, mk(j*p+r, n)...)
							}
							dst := make([]T, p*n)
							if inplace {
								copy(dst, src)
								src = nil
							}
							err = collectives.Alltoall(ctx, c, dst, src, withInPlace(opts, inplace)...)
							if err == nil {
								ck.add(compare(dst, want, 0), "%s", what)
							}
						}
						if err != nil {
							return fmt.Errorf("%s: %w", what, err)
						}
					}
				}
			}
		}
	}
	return ck.err()
}

func TestGatherScatterAllgatherAlltoall(t *testing.T) {
	forNP(t, func(ctx context.Context, c *comm.Comm) error {
		return all(
			gatherCase[float64](ctx, c),
			gatherCase[int32](ctx, c),
			gatherCase[uint8](ctx, c),
		)
	})
}
