package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"

	"github.com/gorun-hpc/gorun/examples/internal/gorunexec"
)

// solve runs heat2d in-process on n ranks and returns rank 0's result and
// report.
func solve(t *testing.T, n int, p Params) (Result, string) {
	t.Helper()
	var res Result
	var out bytes.Buffer
	commtest.Run(t, n, comm.Config{}, func(ctx context.Context, c *comm.Comm) error {
		var w io.Writer = io.Discard
		if c.Rank() == 0 {
			w = &out
		}
		r, err := Run(ctx, c, p, w)
		if c.Rank() == 0 {
			res = r
		}
		if err == nil && !r.Pass {
			err = fmt.Errorf("rank %d: check failed: error %.3e > %.3e", c.Rank(), r.MaxErr, r.Bound)
		}
		return err
	})
	return res, out.String()
}

func small() Params {
	p := DefaultParams()
	p.N, p.Tol, p.PNG = 20, 1e-9, ""
	return p
}

func sameField(t *testing.T, what string, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: field of %d values, want %d", what, len(got), len(want))
	}
	for k := range got {
		if got[k] != want[k] { // bit for bit: same arithmetic on every decomposition
			t.Fatalf("%s: field differs at %d: %v != %v", what, k, got[k], want[k])
		}
	}
}

// Converges to the analytic solution on 1..6 ranks (grids 1x1, 2x1, 3x1,
// 2x2, 5x1, 3x2), with the field bit-for-bit equal to the one-rank field.
func TestConverges(t *testing.T) {
	ref, out := solve(t, 1, small())
	if !ref.Converged || !strings.Contains(out, "VERDICT PASS") {
		t.Fatalf("one rank: converged %v\n%s", ref.Converged, out)
	}
	for _, n := range []int{2, 3, 4, 5, 6} {
		t.Run(fmt.Sprint("np", n), func(t *testing.T) {
			r, out := solve(t, n, small())
			if !strings.Contains(out, "VERDICT PASS") || r.Steps != ref.Steps || r.Checksum != ref.Checksum {
				t.Fatalf("steps %d (want %d), checksum %x (want %x)\n%s", r.Steps, ref.Steps, r.Checksum, ref.Checksum, out)
			}
			sameField(t, "vs one rank", r.Field, ref.Field)
		})
	}
}

// Overlapped and plain halo exchanges give the same field.
func TestOverlapSame(t *testing.T) {
	p := small()
	p.Tol, p.MaxSteps = 0, 150
	a, _ := solve(t, 4, p)
	p.Overlap = false
	b, _ := solve(t, 4, p)
	sameField(t, "overlap vs none", a.Field, b.Field)
}

// The NeighborAlltoallv halo exchange gives bit for bit the field of the
// point-to-point one, on grids 1x1 to 3x2 and with one-point-thin blocks.
func TestNeighborSame(t *testing.T) {
	for _, c := range []struct{ np, n int }{{1, 20}, {2, 20}, {3, 20}, {4, 20}, {6, 20}, {6, 3}, {4, 4}} {
		t.Run(fmt.Sprintf("np%d-n%d", c.np, c.n), func(t *testing.T) {
			p := small()
			p.N, p.Tol, p.MaxSteps = c.n, 0, 150
			a, _ := solve(t, c.np, p)
			p.Neighbor = true
			b, _ := solve(t, c.np, p)
			if a.Checksum != b.Checksum {
				t.Fatalf("checksum %x with NeighborAlltoallv, %x with Isend/Irecv", b.Checksum, a.Checksum)
			}
			sameField(t, "neighbor vs point to point", b.Field, a.Field)
		})
	}
}

// Blocks as thin as one point (a 3x2 grid over N=3 and 4x1 over N=4).
func TestThinBlocks(t *testing.T) {
	for _, c := range []struct{ np, n int }{{6, 3}, {4, 4}, {2, 2}} {
		p := small()
		p.N, p.Tol = c.n, 1e-12
		ref, _ := solve(t, 1, p)
		r, _ := solve(t, c.np, p)
		sameField(t, fmt.Sprintf("np %d, n %d", c.np, c.n), r.Field, ref.Field)
	}
}

// N steps in one run equal K steps, then a restart to N, on the same or a
// different number of ranks; bit for bit.
func TestRestart(t *testing.T) {
	p := small()
	p.Tol, p.MaxSteps = 0, 300
	whole, _ := solve(t, 2, p)
	for _, np := range []int{2, 3} {
		t.Run(fmt.Sprint("restart-np", np), func(t *testing.T) {
			dir := t.TempDir()
			q := p
			q.MaxSteps, q.CheckpointEvery, q.CheckpointDir = 130, 40, dir
			first, _ := solve(t, 2, q)
			if first.Steps != 130 {
				t.Fatalf("first leg stopped at %d", first.Steps)
			}
			steps, err := listCheckpoints(dir)
			if err != nil || len(steps) != ckptKeep || steps[len(steps)-1] != 120 {
				t.Fatalf("checkpoints %v, %v; want the two newest, ending at 120", steps, err)
			}
			q.MaxSteps, q.Restart = 300, true
			second, out := solve(t, np, q)
			if second.Start != 120 || second.Steps != 300 {
				t.Fatalf("restart went from %d to %d\n%s", second.Start, second.Steps, out)
			}
			sameField(t, "restarted vs uninterrupted", second.Field, whole.Field)
		})
	}
}

func TestRestartWithoutCheckpoint(t *testing.T) {
	commtest.Run(t, 2, comm.Config{}, func(ctx context.Context, c *comm.Comm) error {
		p := small()
		p.Restart, p.CheckpointDir = true, t.TempDir()
		if _, err := Run(ctx, c, p, io.Discard); err == nil {
			return fmt.Errorf("rank %d: restart from an empty directory succeeded", c.Rank())
		}
		return nil
	})
}

var checksumRE = regexp.MustCompile(`field checksum ([0-9a-f]{16})`)

func checksum(t *testing.T, out string) string {
	t.Helper()
	m := checksumRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no checksum in output:\n%s", out)
	}
	return m[1]
}

// Under gorun at np 1, 2, 4: the verdict, the exit status, the image, and
// the same field everywhere; then a checkpoint/restart across processes.
func TestGorun(t *testing.T) {
	l := gorunexec.Build(t)
	dir := t.TempDir()
	var sums []string
	for _, np := range []int{1, 2, 4} {
		img := filepath.Join(dir, fmt.Sprintf("field%d.png", np))
		out, code := l.Run(t, 60*time.Second, np, "-n", "24", "-tol", "1e-8", "-png", img)
		if code != 0 || !strings.Contains(out, "VERDICT PASS") || !strings.Contains(out, "converged after") {
			t.Fatalf("np %d: exit %d\n%s", np, code, out)
		}
		if st, err := os.Stat(img); err != nil || st.Size() == 0 {
			t.Fatalf("np %d: image: %v", np, err)
		}
		sums = append(sums, checksum(t, out))
	}
	if sums[1] != sums[0] || sums[2] != sums[0] {
		t.Fatalf("fields differ between rank counts: %v", sums)
	}

	ck := filepath.Join(dir, "ck")
	whole, code := l.Run(t, 60*time.Second, 4, "-n", "24", "-tol", "0", "-max-steps", "400", "-png", "")
	if code != 0 {
		t.Fatalf("uninterrupted run: exit %d\n%s", code, whole)
	}
	out, code := l.Run(t, 60*time.Second, 4, "-n", "24", "-tol", "0", "-max-steps", "250", "-png", "",
		"-checkpoint-every", "100", "-checkpoint-dir", ck)
	if code != 0 {
		t.Fatalf("first leg: exit %d\n%s", code, out)
	}
	out, code = l.Run(t, 60*time.Second, 2, "-n", "24", "-tol", "0", "-max-steps", "400", "-png", "",
		"-restart", "-checkpoint-dir", ck)
	if code != 0 || !strings.Contains(out, "restarted from step 200") {
		t.Fatalf("restart: exit %d\n%s", code, out)
	}
	if a, b := checksum(t, whole), checksum(t, out); a != b {
		t.Fatalf("restarted field %s != uninterrupted %s", b, a)
	}

	out, code = l.Run(t, 60*time.Second, 2, "-n", "24", "-restart", "-checkpoint-dir", filepath.Join(dir, "none"))
	if code == 0 {
		t.Fatalf("restart without checkpoints exited 0\n%s", out)
	}
}
