package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"testing"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// Zeta trace of the reference build for class S (NPB.md), by iteration.
var traceS = map[int]float64{1: 9.9986441579140, 2: 8.5733279203222, 3: 8.5954510374058,
	4: 8.5969972340737, 5: 8.5971549151767, 10: 8.5971775064409, 15: 8.5971775078648}

func TestGrid(t *testing.T) {
	want := map[int][2]int{1: {1, 1}, 2: {1, 2}, 4: {2, 2}, 8: {2, 4}, 16: {4, 4}}
	for np, w := range want {
		r, c, ok := grid(np)
		if !ok || r != w[0] || c != w[1] {
			t.Errorf("grid(%d) = %d x %d, %v", np, r, c, ok)
		}
	}
	for _, np := range []int{0, 3, 6, 12} {
		if _, _, ok := grid(np); ok {
			t.Errorf("grid(%d) accepted", np)
		}
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
					return fmt.Errorf("rank %d: zeta %.15g not verified", c.Rank(), r.Zeta)
				}
				for it, want := range traceS {
					// The reference prints 13 decimals.
					if got := r.Trace[it-1]; math.Abs(got-want) > 6e-13 {
						return fmt.Errorf("rank %d: zeta(%d) = %.13f, want %.13f", c.Rank(), it, got, want)
					}
				}
				return nil
			})
		})
	}
}

func TestRefusesNonPowerOfTwo(t *testing.T) {
	commtest.Run(t, 3, comm.Config{}, func(ctx context.Context, c *comm.Comm) error {
		_, err := Run(ctx, c, 'S', io.Discard)
		if !errors.Is(err, ErrRanks) {
			return fmt.Errorf("np=3: got %v, want ErrRanks", err)
		}
		return nil
	})
}
