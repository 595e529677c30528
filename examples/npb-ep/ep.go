package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/examples/internal/npb"
)

// EP's constants (ep_data.f): batches of 2^mk pairs, nq annuli, seed s.
const (
	mk   = 16
	nk   = 1 << mk
	nq   = 10
	seed = 271828183.0
	eps  = 1e-8
)

type epClass struct {
	m      int
	sx, sy float64 // verification values; 0 for classes without them
}

var classes = map[byte]epClass{
	'S': {24, -3.247834652034740e+3, -6.958407078382297e+3},
	'W': {25, -2.863319731645753e+3, -6.320053679109499e+3},
	'A': {28, -4.295875165629892e+3, -1.580732573678431e+4},
	'B': {30, 0, 0},
}

// Result is what one EP run computed (identical on every rank).
type Result struct {
	Class    byte
	M        int
	Sx, Sy   float64
	Q        [nq]float64
	Gc       float64 // number of Gaussian pairs
	Time     float64 // seconds, maximum over ranks
	Mops     float64
	Verified bool
	HasRef   bool // whether the class has reference values
}

// batches returns the contiguous block [first, first+count) of the nn
// batches owned by rank me of np, as ep.f distributes them: nn/np each,
// with the remainder going one apiece to the lowest ranks.
func batches(nn, np, me int) (first, count int) {
	count = nn / np
	large := nn % np
	if me < large {
		count++
		return me * count, count
	}
	return large*(count+1) + (me-large)*count, count
}

// generate runs batches [first, first+count) and accumulates the sums and
// the annulus counts. It reproduces ep.f's loop: batch kk starts from
// seed*an^kk, draws 2*nk uniforms, and forms nk candidate pairs.
func generate(first, count int) (sx, sy float64, q [nq]float64) {
	// an = a^(2^(mk+1)) mod 2^46, by mk+1 squarings.
	an := npb.A
	for range mk + 1 {
		npb.Randlc(&an, an)
	}
	const a = uint64(npb.A)
	var cnt [16]int64
	for kk := first; kk < first+count; kk++ {
		t1 := npb.Skip(seed, an, uint64(kk))
		s := uint64(t1)
		// The uniforms of the batch are generated on the fly, two at a
		// time, instead of into a 2*nk buffer: the stream is the same.
		for range nk {
			s = (s * a) & npb.Mask46
			x1 := 2*(float64(s)*npb.R46) - 1
			s = (s * a) & npb.Mask46
			x2 := 2*(float64(s)*npb.R46) - 1
			// Explicit conversions keep each product rounded on its
			// own (no fused multiply-add), as in the reference.
			t := float64(x1*x1) + float64(x2*x2)
			if t <= 1 {
				f := math.Sqrt(-2 * math.Log(t) / t)
				t3 := x1 * f
				t4 := x2 * f
				l := int(max(math.Abs(t3), math.Abs(t4)))
				cnt[l&15]++
				sx += t3
				sy += t4
			}
		}
	}
	for i := range nq {
		q[i] = float64(cnt[i])
	}
	return sx, sy, q
}

// Run runs EP of the given class on c and writes NPB's report to out on
// rank 0. Every rank returns the same verdict.
func Run(ctx context.Context, c *comm.Comm, class byte, out io.Writer) (Result, error) {
	cl, ok := classes[class]
	if !ok {
		return Result{}, fmt.Errorf("ep: unknown class %q", class)
	}
	np, me := c.Size(), c.Rank()
	nn := 1 << (cl.m - mk)
	if me == 0 {
		fmt.Fprintf(out, "\n\n NAS Parallel Benchmarks 3.4 -- EP Benchmark (Go port)\n\n")
		fmt.Fprintf(out, " Number of random numbers generated: %15d\n", uint64(1)<<(cl.m+1))
		fmt.Fprintf(out, " Number of active processes:         %15d\n\n", np)
	}
	first, count := batches(nn, np, me)

	if err := npb.Barrier(ctx, c); err != nil {
		return Result{}, err
	}
	start := time.Now()
	sx, sy, q := generate(first, count)
	buf := make([]float64, 2+nq)
	buf[0], buf[1] = sx, sy
	copy(buf[2:], q[:])
	if err := npb.AllreduceSum(ctx, c, buf); err != nil {
		return Result{}, err
	}
	elapsed := []float64{time.Since(start).Seconds()}
	if err := npb.AllreduceMax(ctx, c, elapsed); err != nil {
		return Result{}, err
	}

	r := Result{Class: class, M: cl.m, Sx: buf[0], Sy: buf[1], Time: elapsed[0]}
	copy(r.Q[:], buf[2:])
	for _, v := range r.Q {
		r.Gc += v
	}
	r.Mops = math.Ldexp(1, cl.m+1) / r.Time / 1e6
	r.HasRef = cl.sx != 0
	if r.HasRef {
		ex := math.Abs((r.Sx - cl.sx) / cl.sx)
		ey := math.Abs((r.Sy - cl.sy) / cl.sy)
		// NaN fails both comparisons, so it is rejected.
		r.Verified = ex <= eps && ey <= eps
	}

	if me == 0 {
		fmt.Fprintf(out, " EP Benchmark Results:\n\n")
		fmt.Fprintf(out, " CPU Time =%10.4f\n", r.Time)
		fmt.Fprintf(out, " N = 2^%5d\n", cl.m)
		fmt.Fprintf(out, " No. Gaussian Pairs = %15.0f\n", r.Gc)
		fmt.Fprintf(out, " Sums = %25.15E %25.15E\n", r.Sx, r.Sy)
		fmt.Fprintf(out, " Counts: \n")
		for i, v := range r.Q {
			fmt.Fprintf(out, "%3d%15.0f\n", i, v)
		}
		fmt.Fprintln(out)
		if r.HasRef {
			if r.Verified {
				fmt.Fprintln(out, " VERIFICATION SUCCESSFUL")
			} else {
				fmt.Fprintln(out, " VERIFICATION FAILED")
				fmt.Fprintf(out, " sx = %.15E (reference %.15E)\n", r.Sx, cl.sx)
				fmt.Fprintf(out, " sy = %.15E (reference %.15E)\n", r.Sy, cl.sy)
			}
		} else {
			fmt.Fprintf(out, " No reference values for class %c: computed values at full precision:\n", class)
			fmt.Fprintf(out, " sx = %.17E\n sy = %.17E\n", r.Sx, r.Sy)
			fmt.Fprintln(out, " VERIFICATION FAILED (no reference values)")
		}
		res := npb.Results{
			Name: "EP", Class: class, N1: 1 << (cl.m + 1), Niter: 0,
			Time: r.Time, Procs: np, Mops: r.Mops,
			OpType: "Random numbers generated", Verified: r.Verified,
		}
		res.Print(out)
	}
	return r, nil
}
