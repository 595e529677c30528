package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"testing"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
	"github.com/gorun-hpc/gorun/examples/internal/npb"
)

func TestFindMySeed(t *testing.T) {
	// Rank 1 of 2 over 4*16 numbers starts after 32 steps.
	x := seed
	for range 32 {
		npb.Randlc(&x, npb.A)
	}
	if got := findMySeed(1, 2, 64, seed, npb.A); got != x {
		t.Fatalf("findMySeed = %v, want %v", got, x)
	}
}

func TestClassS(t *testing.T) {
	for _, np := range []int{1, 2, 4, 8} {
		t.Run(fmt.Sprintf("np%d", np), func(t *testing.T) {
			commtest.Run(t, np, comm.Config{}, func(ctx context.Context, c *comm.Comm) error {
				r, err := Run(ctx, c, 'S', io.Discard)
				if err != nil {
					return err
				}
				if !r.Verified {
					return fmt.Errorf("rank %d: %d checks passed, want %d", c.Rank(), r.Passed, 5*maxIterations+np)
				}
				return nil
			})
		})
	}
}

// TestCompactOutside checks the two-chain compaction against a plain
// filter: same keys kept (as a multiset), for odd and even lengths, none,
// some and all kept, and the range at either end.
func TestCompactOutside(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 7, 8, 100, 1001} {
		for _, r := range [][2]int64{{0, 0}, {0, 50}, {25, 75}, {50, 100}, {0, 100}, {-5, 1000}} {
			keys := make([]int32, n)
			for i := range keys {
				keys[i] = int32((i*37 + 11) % 100)
			}
			dst := make([]int32, n+1)
			got := dst[:compactOutside(dst, keys, r[0], r[1])]
			var want []int32
			for _, k := range keys {
				if int64(k) < r[0] || int64(k) >= r[1] {
					want = append(want, k)
				}
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("n=%d range %v: kept %v, want %v", n, r, got, want)
			}
		}
	}
}
