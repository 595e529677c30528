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

// vcounts gives rank i's count for a v-collective: uneven, some zero.
func vcounts(p, n int) []int {
	cnt := make([]int, p)
	for i := range cnt {
		cnt[i] = (n * (i + 1) / p) % (n + 1)
		if i%4 == 2 {
			cnt[i] = 0
		}
	}
	return cnt
}

func TestVCollectives(t *testing.T) {
	forNP(t, func(ctx context.Context, c *comm.Comm) error {
		var ck checker
		p, r := c.Size(), c.Rank()
		mk := func(rank, n int) []float32 {
			s := make([]float32, n)
			for i := range s {
				s[i] = gen[float32](rank, i)
			}
			return s
		}
		for _, n := range counts {
			cnt := vcounts(p, n)
			// Gaps between blocks: displs with a stride.
			displs := make([]int, p)
			total := 0
			for i := range p {
				displs[i] = total + 3
				total += cnt[i] + 3
			}
			total += 3
			for _, root := range []int{0, p - 1} {
				var dst []float32
				if r == root {
					dst = make([]float32, total)
				}
				if err := collectives.Gatherv(ctx, c, dst, cnt, displs, mk(r, cnt[r]), root); err != nil {
					return err
				}
				if r == root {
					for i := range p {
						ck.add(compare(dst[displs[i]:displs[i]+cnt[i]], mk(i, cnt[i]), 0), "gatherv n=%d root=%d block %d", n, root, i)
					}
				}
				var src []float32
				if r == root {
					src = make([]float32, total)
					for i := range p {
						copy(src[displs[i]:], mk(i, cnt[i]))
					}
				}
				got := make([]float32, cnt[r])
				if err := collectives.Scatterv(ctx, c, got, src, cnt, displs, root); err != nil {
					return err
				}
				ck.add(compare(got, mk(r, cnt[r]), 0), "scatterv n=%d root=%d", n, root)
			}
			for _, inplace := range []bool{false, true} {
				all := make([]float32, total)
				src := mk(r, cnt[r])
				if inplace {
					copy(all[displs[r]:], src)
					src = nil
				}
				if err := collectives.Allgatherv(ctx, c, all, cnt, displs, src, withInPlace([]collectives.Option{collectives.WithSegmentSize(segBytes)}, inplace)...); err != nil {
					return err
				}
				for i := range p {
					ck.add(compare(all[displs[i]:displs[i]+cnt[i]], mk(i, cnt[i]), 0), "allgatherv n=%d block %d inplace=%v", n, i, inplace)
				}
			}
			// Gatherv and Scatterv in place on root 0.
			{
				var dst, src []float32
				if r == 0 {
					dst = make([]float32, total)
					copy(dst[displs[0]:], mk(0, cnt[0]))
				} else {
					src = mk(r, cnt[r])
				}
				if err := collectives.Gatherv(ctx, c, dst, cnt, displs, src, 0, collectives.InPlace()); err != nil {
					return err
				}
				if r == 0 {
					for i := range p {
						ck.add(compare(dst[displs[i]:displs[i]+cnt[i]], mk(i, cnt[i]), 0), "gatherv in place n=%d block %d", n, i)
					}
				}
				got := make([]float32, cnt[r])
				if r == 0 {
					got = nil
				}
				if err := collectives.Scatterv(ctx, c, got, dst, cnt, displs, 0, collectives.InPlace()); err != nil {
					return err
				}
				if r != 0 {
					ck.add(compare(got, mk(r, cnt[r]), 0), "scatterv in place n=%d", n)
				}
			}
			// Alltoallv: rank i sends (i+j)%3 * n/7 elements to rank j.
			sc, rc := make([]int, p), make([]int, p)
			for j := range p {
				sc[j] = (r + j) % 3 * (n / 7)
				rc[j] = (j + r) % 3 * (n / 7)
			}
			var src, want []float32
			for j := range p {
				src = append(src, mk(r*p+j, sc[j])...)
				want = append(want, mk(j*p+r, rc[j])...)
			}
			dst := make([]float32, len(want))
			if err := collectives.Alltoallv(ctx, c, dst, rc, nil, src, sc, nil); err != nil {
				return err
			}
			ck.add(compare(dst, want, 0), "alltoallv n=%d", n)
		}
		return ck.err()
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
