package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// The counts NPB-MPI's reference build printed for class S (NPB.md).
var wantS = struct {
	gc float64
	q  [nq]float64
}{13176389, [nq]float64{6140517, 5865300, 1100361, 68546, 1648, 17}}

func TestBatches(t *testing.T) {
	for _, nn := range []int{1, 5, 256, 1024} {
		for np := 1; np <= 9; np++ {
			next := 0
			for me := range np {
				f, c := batches(nn, np, me)
				if f != next {
					t.Fatalf("nn=%d np=%d rank %d starts at %d, want %d", nn, np, me, f, next)
				}
				next += c
			}
			if next != nn {
				t.Fatalf("nn=%d np=%d covers %d batches", nn, np, next)
			}
		}
	}
}

func TestClassS(t *testing.T) {
	for _, np := range []int{1, 2, 3, 4} {
		t.Run(fmt.Sprintf("np%d", np), func(t *testing.T) {
			var out bytes.Buffer
			commtest.Run(t, np, comm.Config{}, func(ctx context.Context, c *comm.Comm) error {
				var w io.Writer = io.Discard
				if c.Rank() == 0 {
					w = &out
				}
				r, err := Run(ctx, c, 'S', w)
				if err != nil {
					return err
				}
				if !r.Verified {
					return fmt.Errorf("rank %d: not verified: sx=%v sy=%v", c.Rank(), r.Sx, r.Sy)
				}
				if r.Gc != wantS.gc || r.Q != wantS.q {
					return fmt.Errorf("rank %d: counts %v (%v pairs), want %v (%v)", c.Rank(), r.Q, r.Gc, wantS.q, wantS.gc)
				}
				return nil
			})
			if !strings.Contains(out.String(), "VERIFICATION SUCCESSFUL") {
				t.Fatalf("report lacks the verdict:\n%s", out.String())
			}
		})
	}
}
