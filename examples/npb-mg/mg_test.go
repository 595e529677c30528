package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

func TestClassS(t *testing.T) {
	for _, np := range []int{1, 2, 4, 8} {
		t.Run(fmt.Sprintf("np%d", np), func(t *testing.T) {
			commtest.Run(t, np, comm.Config{}, func(ctx context.Context, c *comm.Comm) error {
				r, err := Run(ctx, c, 'S', io.Discard)
				if err != nil {
					return err
				}
				if !r.Verified {
					return fmt.Errorf("rank %d: rnm2 %.13e not verified", c.Rank(), r.Rnm2)
				}
				return nil
			})
		})
	}
}

func TestRefusesRankCount(t *testing.T) {
	commtest.Run(t, 3, comm.Config{}, func(ctx context.Context, c *comm.Comm) error {
		if _, err := Run(ctx, c, 'S', io.Discard); !errors.Is(err, ErrRanks) {
			return fmt.Errorf("np=3: got %v, want ErrRanks", err)
		}
		return nil
	})
}

func TestDecomp(t *testing.T) {
	want := map[int][3]int{1: {1, 1, 1}, 2: {1, 1, 2}, 4: {1, 2, 2}, 8: {2, 2, 2}}
	for np, w := range want {
		commtest.Run(t, np, comm.Config{}, func(ctx context.Context, c *comm.Comm) error {
			d := newDecomp(ctx, c, 1)
			if d.pi != w {
				return fmt.Errorf("np=%d: grid %v, want %v", np, d.pi, w)
			}
			return nil
		})
	}
}
