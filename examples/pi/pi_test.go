package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"

	"github.com/gorun-hpc/gorun/examples/internal/gorunexec"
)

// In-process: n ranks over loopback TCP. Every rank must get the same
// estimate, and the hit count must not depend on how the darts are split
// (each rank's stream is fixed by its rank, so it does depend on n; what must
// hold is the 5-standard-error check).
func TestInProcess(t *testing.T) {
	for _, n := range []int{1, 2, 3, 4} {
		t.Run(fmt.Sprint("np", n), func(t *testing.T) {
			var out bytes.Buffer
			results := make([]Result, n)
			commtest.Run(t, n, comm.Config{}, func(ctx context.Context, c *comm.Comm) error {
				var w io.Writer = io.Discard
				if c.Rank() == 0 {
					w = &out
				}
				r, err := Run(ctx, c, Params{N: 200_000, Seed: 7}, w)
				results[c.Rank()] = r
				return err
			})
			for i, r := range results {
				if r.Pi != results[0].Pi || !r.Pass {
					t.Fatalf("rank %d: pi %v pass %v; rank 0: %v", i, r.Pi, r.Pass, results[0].Pi)
				}
			}
			if !strings.Contains(out.String(), "VERDICT PASS") {
				t.Fatalf("no PASS verdict:\n%s", out.String())
			}
		})
	}
}

// The failure path: checked against a wrong value, every rank reports FAIL.
func TestInProcessFail(t *testing.T) {
	commtest.Run(t, 2, comm.Config{}, func(ctx context.Context, c *comm.Comm) error {
		r, err := Run(ctx, c, Params{N: 100_000, Seed: 1, Want: 3.0}, io.Discard)
		if err != nil {
			return err
		}
		if r.Pass {
			return fmt.Errorf("rank %d: passed against 3.0 (pi %v)", c.Rank(), r.Pi)
		}
		return nil
	})
}

// Under gorun: the real binary at np 1, 2, 4, its verdict line and exit status.
func TestGorun(t *testing.T) {
	l := gorunexec.Build(t)
	for _, np := range []int{1, 2, 4} {
		t.Run(fmt.Sprint("np", np), func(t *testing.T) {
			out, code := l.Run(t, 30*time.Second, np, "-n", "400000")
			if code != 0 || !strings.Contains(out, "VERDICT PASS") {
				t.Fatalf("exit %d, output:\n%s", code, out)
			}
			if strings.Count(out, "VERDICT") != 1 {
				t.Fatalf("want exactly one verdict line (rank 0's):\n%s", out)
			}
			if !strings.Contains(out, fmt.Sprintf("on %d ranks", np)) {
				t.Fatalf("rank count not reported:\n%s", out)
			}
		})
	}
	t.Run("fail", func(t *testing.T) {
		out, code := l.Run(t, 30*time.Second, 2, "-n", "400000", "-want", "3")
		if code == 0 || !strings.Contains(out, "VERDICT FAIL") {
			t.Fatalf("exit %d, output:\n%s", code, out)
		}
	})
}
