package main

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
)

// Compare trains reps times each way, alternating, with blocking fused
// Allreduce, with per-layer Iallreduce overlapped with the hidden
// layer's backward pass, and with that overlap and asynchronous progress
// (collectives.WithAsyncProgress: one extra P while the Iallreduces are in
// flight) (-compare), and prints the median time per step
// of each (the slowest rank's) and the time of it spent in the reduction
// calls (Allreduce; or starting the Iallreduces and waiting for them:
// the communication the overlap did not hide); every run must pass its checks (the
// serial comparison only in the first round). It reports whether all
// runs passed.
func Compare(ctx context.Context, c *comm.Comm, p Params, reps int, out io.Writer) (bool, error) {
	modes := []struct {
		name    string
		overlap bool
		async   comm.Toggle
	}{
		{"blocking Allreduce (fused)", false, comm.Off},
		{"overlapped Iallreduce per layer", true, comm.Off},
		{"overlapped, async progress", true, comm.On},
	}
	if p.Bucket > 0 {
		modes[1].name = fmt.Sprintf("overlapped Iallreduce, >= %d B", p.Bucket)
		modes[2].name = fmt.Sprintf("overlapped >= %d B, async progress", p.Bucket)
	}
	times := make([][]float64, len(modes))
	waits := make([][]float64, len(modes)) // in Allreduce, or starting and waiting for the Iallreduces
	pass := true
	for rep := range reps {
		for i, m := range modes {
			q := p
			q.Overlap, q.Fuse, q.AsyncProgress = m.overlap, true, m.async
			q.CheckSerial = p.CheckSerial && rep == 0
			res, err := Run(ctx, c, q, io.Discard)
			if err != nil {
				return false, err
			}
			pass = pass && res.Pass
			steps := float64(max(res.Steps, 1))
			step := []float64{res.Elapsed.Seconds() * 1e6 / steps, res.AllreduceSeconds * 1e6 / steps}
			if err := collectives.Allreduce(ctx, c, step, step, collectives.Max[float64]()); err != nil {
				return false, err
			}
			times[i] = append(times[i], step[0])
			waits[i] = append(waits[i], step[1])
		}
	}
	fmt.Fprintf(out, "ddp -compare: np %d, MLP %s, batch %d, %d epochs, median of %d runs each (slowest rank)\n",
		c.Size(), arch(p), p.Batch, p.Epochs, reps)
	for i, m := range modes {
		slices.Sort(times[i])
		slices.Sort(waits[i])
		fmt.Fprintf(out, "%-34s %9.1f µs/step, of which %9.1f µs in the reduction calls\n",
			m.name, times[i][len(times[i])/2], waits[i][len(waits[i])/2])
	}
	if pass {
		fmt.Fprintln(out, "VERDICT PASS: every run reached the target loss and matched one-rank training")
	} else {
		fmt.Fprintln(out, "VERDICT FAIL: a run missed the target or differed from one-rank training")
	}
	return pass, nil
}
