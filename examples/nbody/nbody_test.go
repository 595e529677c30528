package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"

	"github.com/gorun-hpc/gorun/examples/internal/gorunexec"
)

func small() Params {
	p := DefaultParams()
	p.N, p.Steps = 96, 150
	return p
}

func simulate(t *testing.T, n int, p Params) (Result, string) {
	t.Helper()
	res := make([]Result, n)
	var out bytes.Buffer
	commtest.Run(t, n, comm.Config{}, func(ctx context.Context, c *comm.Comm) error {
		var w io.Writer = io.Discard
		if c.Rank() == 0 {
			w = &out
		}
		r, err := Run(ctx, c, p, w)
		res[c.Rank()] = r
		return err
	})
	for i, r := range res {
		if r.Checksum != res[0].Checksum {
			t.Fatalf("rank %d holds other positions than rank 0", i)
		}
	}
	return res[0], out.String()
}

// Energy conserved within the tolerance on 1..4 ranks (96 bodies split
// unevenly over 3), and the trajectory bit-for-bit that of one rank.
func TestConserves(t *testing.T) {
	ref, out := simulate(t, 1, small())
	if !ref.Pass || !strings.Contains(out, "VERDICT PASS") {
		t.Fatalf("one rank:\n%s", out)
	}
	for _, n := range []int{2, 3, 4} {
		t.Run(fmt.Sprint("np", n), func(t *testing.T) {
			r, out := simulate(t, n, small())
			if !r.Pass || !strings.Contains(out, "VERDICT PASS") {
				t.Fatalf("not passed:\n%s", out)
			}
			for k := range r.Pos {
				if r.Pos[k] != ref.Pos[k] {
					t.Fatalf("position %d: %v, one rank %v", k, r.Pos[k], ref.Pos[k])
				}
			}
			// Energies are sums over ranks in another order: equal to
			// rounding (relative 1e-12).
			if d := (r.E - ref.E) / ref.E; d > 1e-12 || d < -1e-12 {
				t.Fatalf("energy %v, one rank %v", r.E, ref.E)
			}
		})
	}
}

// A time step far too large breaks energy conservation: the check must say so.
func TestDetectsDrift(t *testing.T) {
	p := small()
	p.Dt, p.Steps = 0.05, 40
	r, out := simulate(t, 2, p)
	if r.Pass || !strings.Contains(out, "VERDICT FAIL") {
		t.Fatalf("passed with dt = 0.05:\n%s", out)
	}
}

var sumRE = regexp.MustCompile(`positions checksum ([0-9a-f]{16})`)

func TestGorun(t *testing.T) {
	l := gorunexec.Build(t)
	var sums []string
	for _, np := range []int{1, 2, 4} {
		out, code := l.Run(t, 60*time.Second, np, "-n", "128", "-steps", "100")
		if code != 0 || !strings.Contains(out, "VERDICT PASS") || !strings.Contains(out, fmt.Sprintf("on %d ranks", np)) {
			t.Fatalf("np %d: exit %d\n%s", np, code, out)
		}
		m := sumRE.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no checksum:\n%s", out)
		}
		sums = append(sums, m[1])
	}
	if sums[1] != sums[0] || sums[2] != sums[0] {
		t.Fatalf("trajectories differ between rank counts: %v", sums)
	}
	out, code := l.Run(t, 60*time.Second, 2, "-n", "128", "-steps", "40", "-dt", "0.05")
	if code == 0 || !strings.Contains(out, "VERDICT FAIL") {
		t.Fatalf("dt 0.05: exit %d\n%s", code, out)
	}
}
