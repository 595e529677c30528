package main

import (
	"context"
	"fmt"
	"io"
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
	for _, np := range []int{1, 2, 4} {
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
