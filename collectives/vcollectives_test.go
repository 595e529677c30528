package collectives_test

import (
	"context"
	"testing"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
)

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
