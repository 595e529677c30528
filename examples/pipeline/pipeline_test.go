package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/comm"

	"github.com/gorun-hpc/gorun/examples/internal/gorunexec"
)

func TestGraphIsTopological(t *testing.T) {
	for i, s := range Graph() {
		for _, d := range s.Deps {
			if d >= i {
				t.Fatalf("stage %s depends on a later stage %d", s.Name, d)
			}
		}
	}
}

func runInProcess(t *testing.T, n int, p Params) (string, []bool) {
	return gorunexec.InProcess(t, n, func(ctx context.Context, c *comm.Comm, out io.Writer) (bool, error) {
		return Run(ctx, c, p, out)
	})
}

func TestRunRanks(t *testing.T) {
	for _, n := range []int{1, 2, 3, 4} {
		t.Run(fmt.Sprintf("np%d", n), func(t *testing.T) {
			out, verdicts := runInProcess(t, n, Params{Orders: 5000, Customers: 300, StageMS: 20})
			for r, ok := range verdicts {
				if !ok {
					t.Errorf("rank %d: verdict false\n%s", r, out)
				}
			}
			if !strings.Contains(out, "OK pipeline") {
				t.Errorf("unexpected output:\n%s", out)
			}
		})
	}
}

// The two transforms wait 150 ms each; they overlap when both start before
// either ends, which the timeline reports on every placement.
func TestTransformsOverlap(t *testing.T) {
	out, _ := runInProcess(t, 3, Params{Orders: 1000, Customers: 50, StageMS: 150})
	if strings.Contains(out, "did not overlap") {
		t.Errorf("spend and stats ran one after the other:\n%s", out)
	}
}

func TestCorruptFails(t *testing.T) {
	for _, n := range []int{1, 3} {
		out, verdicts := runInProcess(t, n, Params{Orders: 2000, Customers: 40, Corrupt: true})
		for r, ok := range verdicts {
			if ok {
				t.Errorf("np %d rank %d: corrupted run passed\n%s", n, r, out)
			}
		}
		if !strings.Contains(out, "FAILED") {
			t.Errorf("no FAILED line:\n%s", out)
		}
	}
}

func TestUnderGorun(t *testing.T) {
	l := gorunexec.Build(t)
	args := []string{"-orders", "20000", "-customers", "500", "-stage-ms", "20"}
	for _, np := range []int{1, 2, 4} {
		out, code := l.Run(t, 40*time.Second, np, args...)
		if code != 0 {
			t.Fatalf("np %d: exit %d\n%s", np, code, out)
		}
		gorunexec.MustContain(t, out, "OK pipeline", fmt.Sprintf("on %d ranks", np))
	}
	out, code := l.Run(t, 40*time.Second, 2, append(args, "-corrupt")...)
	if code == 0 || !strings.Contains(out, "FAILED") {
		t.Fatalf("corrupted run: exit %d\n%s", code, out)
	}
}
