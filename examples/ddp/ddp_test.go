package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"

	"github.com/gorun-hpc/gorun/examples/internal/gorunexec"
)

func small() Params {
	p := DefaultParams()
	p.Samples, p.Epochs, p.Batch = 2048, 10, 64
	p.TargetLoss = 0.25
	return p
}

func trainOn(t *testing.T, n int, p Params) (Result, string) {
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
	// The replicas must be identical: every rank applies the same reduced
	// gradient.
	for i, r := range res {
		for k := range r.Params {
			if r.Params[k] != res[0].Params[k] {
				t.Fatalf("rank %d's replica differs from rank 0's at parameter %d", i, k)
			}
		}
		if r.Pass != res[0].Pass {
			t.Fatalf("rank %d's verdict differs", i)
		}
	}
	return res[0], out.String()
}

// On 1..4 ranks (4096/3 is uneven) training reaches the target loss and
// matches one-rank training within ParamTol.
func TestMatchesSerial(t *testing.T) {
	for _, n := range []int{1, 2, 3, 4} {
		t.Run(fmt.Sprint("np", n), func(t *testing.T) {
			r, out := trainOn(t, n, small())
			if !r.Pass || !strings.Contains(out, "VERDICT PASS") || !strings.Contains(out, "matches one-rank") {
				t.Fatalf("not passed:\n%s", out)
			}
			if r.SerialMaxDiff > ParamTol {
				t.Fatalf("parameters differ by %v", r.SerialMaxDiff)
			}
		})
	}
}

// One Allreduce per tensor gives the same training as the fused buffer, to
// the comparison tolerance (the reduction algorithm may differ with size).
func TestFusedEqualsUnfused(t *testing.T) {
	p := small()
	p.CheckSerial = false
	a, _ := trainOn(t, 3, p)
	p.Fuse = false
	b, _ := trainOn(t, 3, p)
	for k := range a.Params {
		if d := math.Abs(a.Params[k] - b.Params[k]); d > ParamTol {
			t.Fatalf("parameter %d: fused %v, unfused %v", k, a.Params[k], b.Params[k])
		}
	}
}

// An unreachable target fails, on every rank.
// Overlapped per-layer Iallreduce still matches one-rank training, on 1,
// 2, 3 and 5 ranks, and gives what blocking fused training gives within
// the tolerance.
func TestOverlapMatchesSerial(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5} {
		t.Run(fmt.Sprint("np", n), func(t *testing.T) {
			p := small()
			p.Overlap = true
			r, out := trainOn(t, n, p)
			if !r.Pass || !strings.Contains(out, "matches one-rank training") {
				t.Fatalf("overlapped training failed:\n%s", out)
			}
			p.Overlap = false
			b, _ := trainOn(t, n, p)
			for k := range b.Params {
				if d := math.Abs(b.Params[k] - r.Params[k]); d > ParamTol {
					t.Fatalf("parameter %d: overlapped and blocking differ by %g", k, d)
				}
			}
		})
	}
}

// Overlapped training with asynchronous progress (one extra P while the
// Iallreduces are in flight) matches one-rank training on 1, 2, 3 and 5
// ranks.
func TestOverlapAsyncProgressMatchesSerial(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5} {
		t.Run(fmt.Sprint("np", n), func(t *testing.T) {
			p := small()
			p.Overlap, p.AsyncProgress = true, comm.On
			r, out := trainOn(t, n, p)
			if !r.Pass || !strings.Contains(out, "matches one-rank training") || !strings.Contains(out, "async progress true") {
				t.Fatalf("overlapped training with async progress failed:\n%s", out)
			}
		})
	}
}

// A deeper model (3 hidden layers), overlapped with one Iallreduce per
// layer, with buckets of several layers and with everything in one
// bucket, matches one-rank training on 1, 2, 3 and 5 ranks.
func TestOverlapDeepBuckets(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5} {
		for _, bucket := range []int{0, 2500, 1 << 20} {
			t.Run(fmt.Sprintf("np%d/bucket%d", n, bucket), func(t *testing.T) {
				p := small()
				p.Layers, p.LR, p.Epochs, p.TargetLoss = 3, 0.1, 4, 0.69
				p.Overlap, p.Bucket = true, bucket
				r, out := trainOn(t, n, p)
				if !r.Pass || !strings.Contains(out, "matches one-rank training") || !strings.Contains(out, "MLP 8-16-16-16-1") {
					t.Fatalf("overlapped training failed:\n%s", out)
				}
			})
		}
	}
}

func TestFailsAboveTarget(t *testing.T) {
	p := small()
	p.TargetLoss, p.Epochs = 0.01, 2
	r, out := trainOn(t, 2, p)
	if r.Pass || !strings.Contains(out, "VERDICT FAIL") {
		t.Fatalf("passed:\n%s", out)
	}
}

func TestGorun(t *testing.T) {
	l := gorunexec.Build(t)
	for _, np := range []int{1, 2, 4} {
		out, code := l.Run(t, 60*time.Second, np, "-m", "2048", "-batch", "64", "-epochs", "10", "-target-loss", "0.25")
		if code != 0 || !strings.Contains(out, "VERDICT PASS") || !strings.Contains(out, fmt.Sprintf("over %d ranks", np)) {
			t.Fatalf("np %d: exit %d\n%s", np, code, out)
		}
	}
	out, code := l.Run(t, 60*time.Second, 2, "-m", "2048", "-batch", "64", "-epochs", "2", "-target-loss", "0.01")
	if code == 0 || !strings.Contains(out, "VERDICT FAIL") {
		t.Fatalf("unreachable target: exit %d\n%s", code, out)
	}
}
