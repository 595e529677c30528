package collectives_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// inPlace returns opts with InPlace added (a new slice).
func inPlace(opts []collectives.Option) []collectives.Option {
	return append(slices.Clip(opts), collectives.InPlace())
}

// withInPlace is inPlace when on is true, else opts.
func withInPlace(opts []collectives.Option, on bool) []collectives.Option {
	if on {
		return inPlace(opts)
	}
	return opts
}

// TestEmptySourceIsNotInPlace: a nil or empty (non-nil) src is an empty
// contribution. Where the counts say so that is correct data; where they
// expect elements it is an error; never wrong data.
func TestEmptySourceIsNotInPlace(t *testing.T) {
	for _, np := range []int{1, 2, 3, 5} {
		for _, empty := range []struct {
			name string
			src  []float64
		}{{"nil", nil}, {"empty", []float64{}}} {
			t.Run(fmt.Sprintf("np=%d/%s", np, empty.name), func(t *testing.T) {
				commtest.RunUnmatched(t, np, testCfg, func(ctx context.Context, c *comm.Comm) error {
					return emptySourceCases(t, ctx, c, empty.src)
				})
			})
		}
	}
}

func emptySourceCases(t *testing.T, ctx context.Context, c *comm.Comm, none []float64) error {
	p, r := c.Size(), c.Rank()
	val := func(from, to int) float64 { return float64(100*from + to + 1) }
	// Alltoallv: rank 0 sends nothing (src built by appending nothing,
	// zero scounts); every other rank sends one element to each rank.
	// dst starts with stale values where rank 0's blocks would be.
	scounts, rcounts := make([]int, p), make([]int, p)
	var src []float64
	if r == 0 {
		src = none
	}
	for j := range p {
		if r != 0 {
			scounts[j] = 1
			src = append(src, val(r, j))
		}
		if j != 0 {
			rcounts[j] = 1
		}
	}
	dst := make([]float64, p-1)
	for i := range dst {
		dst[i] = -1
	}
	if err := collectives.Alltoallv(ctx, c, dst, rcounts, nil, src, scounts, nil); err != nil {
		return fmt.Errorf("Alltoallv with rank 0 sending nothing: %w", err)
	}
	for j := 1; j < p; j++ {
		if dst[j-1] != val(j, r) {
			t.Errorf("rank %d: Alltoallv block from %d = %v, want %v", r, j, dst[j-1], val(j, r))
		}
	}
	// Every rank sending nothing at all: dst untouched, no error.
	if err := collectives.Alltoallv(ctx, c, none, make([]int, p), nil, none, make([]int, p), nil); err != nil {
		return fmt.Errorf("Alltoallv of nothing: %w", err)
	}
	// Gatherv to root p-1: rank 0 contributes nothing with a count of 0,
	// correct data; then with a count of 1, which root must refuse (its
	// own block: at once; another rank's: when the short message comes).
	root := p - 1
	for _, cnt0 := range []int{0, 1} {
		counts := make([]int, p)
		for i := range counts {
			counts[i] = 1
		}
		counts[0] = cnt0
		mine := []float64{val(r, 0)}
		if r == 0 {
			mine = none
		}
		var all []float64
		if r == root {
			all = make([]float64, total(counts))
			for i := range all {
				all[i] = -1
			}
		}
		err := collectives.Gatherv(ctx, c, all, counts, nil, mine, root)
		switch {
		case cnt0 == 0 && err != nil:
			return fmt.Errorf("Gatherv with an empty block: %w", err)
		case cnt0 == 0 && r == root:
			for i := 1; i < p; i++ {
				if all[i-1] != val(i, 0) {
					t.Errorf("Gatherv block %d = %v, want %v", i, all[i-1], val(i, 0))
				}
			}
		case cnt0 == 1 && r == root:
			if !errors.Is(err, comm.ErrTruncate) && !errors.Is(err, comm.ErrInvalidArgument) {
				t.Errorf("Gatherv with rank 0 sending nothing for a count of 1: %v, want an error", err)
			}
		case cnt0 == 1 && err != nil && !(r == 0 && root == 0):
			return fmt.Errorf("Gatherv, rank %d (not root, valid): %w", r, err)
		}
	}
	// Gather (binomial at this size): rank e passes an empty src where
	// the others pass one element; root gets an error, never a stale
	// block, also when e's parent in the tree is not root.
	for e := range p {
		mine := []float64{val(r, 0)}
		if r == e {
			mine = none
		}
		var all []float64
		if r == root {
			all = make([]float64, p)
		}
		err := collectives.Gather(ctx, c, all, mine, root)
		if r == root && err == nil {
			t.Errorf("Gather with rank %d's src empty: no error, got %v", e, all)
		}
	}
	// Allreduce, Scan, Allgather, Alltoall with an empty src and
	// elements expected: an error on every rank, before communicating.
	x := []float64{1, 2}
	for name, err := range map[string]error{
		"Allreduce": collectives.Allreduce(ctx, c, x, none, collectives.Sum[float64]()),
		"Scan":      collectives.Scan(ctx, c, x, none, collectives.Sum[float64]()),
		"Allgather": collectives.Allgather(ctx, c, make([]float64, 2*p), none),
		"Alltoall":  collectives.Alltoall(ctx, c, make([]float64, 2*p), none),
	} {
		if !errors.Is(err, comm.ErrInvalidArgument) {
			t.Errorf("rank %d: %s with an empty src: %v, want ErrInvalidArgument", r, name, err)
		}
	}
	if x[0] != 1 || x[1] != 2 {
		t.Errorf("rank %d: a refused Allreduce or Scan changed dst to %v", r, x)
	}
	// With zero lengths an empty src is fine.
	if err := collectives.Allreduce(ctx, c, none, none, collectives.Sum[float64]()); err != nil {
		return fmt.Errorf("Allreduce of nothing: %w", err)
	}
	return collectives.Allgather(ctx, c, none, none)
}

// TestAliasedSource: a src that starts where dst starts gives the in-place
// result, with or without InPlace.
func TestAliasedSource(t *testing.T) {
	for _, np := range []int{1, 2, 3, 5} {
		t.Run(fmt.Sprintf("np=%d", np), func(t *testing.T) {
			commtest.Run(t, np, testCfg, func(ctx context.Context, c *comm.Comm) error {
				p, r := c.Size(), c.Rank()
				var ck checker
				for _, opts := range [][]collectives.Option{nil, {collectives.InPlace()}} {
					x := []float64{float64(r), 1}
					if err := collectives.Allreduce(ctx, c, x, x, collectives.Sum[float64](), opts...); err != nil {
						return err
					}
					ck.add(compare(x, []float64{float64(p * (p - 1) / 2), float64(p)}, 0), "Allreduce(x, x) %d options", len(opts))
					x = []float64{float64(r + 1)}
					if err := collectives.Scan(ctx, c, x, x, collectives.Sum[float64](), opts...); err != nil {
						return err
					}
					ck.add(compare(x, []float64{float64((r + 1) * (r + 2) / 2)}, 0), "Scan(x, x)")
					// Alltoall: block j of rank i is 10i+j.
					a := make([]float64, p)
					want := make([]float64, p)
					for j := range p {
						a[j] = float64(10*r + j)
						want[j] = float64(10*j + r)
					}
					if err := collectives.Alltoall(ctx, c, a, a, opts...); err != nil {
						return err
					}
					ck.add(compare(a, want, 0), "Alltoall(a, a)")
				}
				// Alltoallv with src aliasing dst and its own counts: rank
				// i sends j+1 copies of 10i+j to rank j from a buffer that
				// is also dst (long enough for both).
				sc, rc := make([]int, p), make([]int, p)
				var in, want []float64
				for j := range p {
					sc[j], rc[j] = j+1, r+1
					for range j + 1 {
						in = append(in, float64(10*r+j))
					}
					for range r + 1 {
						want = append(want, float64(10*j+r))
					}
				}
				buf := make([]float64, max(len(in), len(want)))
				copy(buf, in)
				if err := collectives.Alltoallv(ctx, c, buf[:len(want)], rc, nil, buf[:len(in)], sc, nil); err != nil {
					return err
				}
				ck.add(compare(buf[:len(want)], want, 0), "Alltoallv with src aliasing dst")
				// Scatter and Scatterv from root p-1 with root's dst at
				// the start of its src: block 0 must not be overwritten
				// before it is sent.
				root := p - 1
				src := make([]float64, 2*p)
				for i := range src {
					src[i] = float64(i)
				}
				dst := make([]float64, 2)
				if r == root {
					dst = src[:2]
				}
				if err := collectives.Scatter(ctx, c, dst, src, root); err != nil {
					return err
				}
				ck.add(compare(dst, []float64{float64(2 * r), float64(2*r + 1)}, 0), "Scatter with dst aliasing src on root")
				for i := range src {
					src[i] = float64(i)
				}
				counts := make([]int, p)
				for i := range counts {
					counts[i] = 2
				}
				dst = make([]float64, 2)
				if r == root {
					dst = src[:2]
				}
				if err := collectives.Scatterv(ctx, c, dst, src, counts, nil, root); err != nil {
					return err
				}
				ck.add(compare(dst, []float64{float64(2 * r), float64(2*r + 1)}, 0), "Scatterv with dst aliasing src on root")
				return ck.err()
			})
		})
	}
}

func total(xs []int) int {
	s := 0
	for _, x := range xs {
		s += x
	}
	return s
}
