package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/examples/internal/npb"
)

const (
	eps  = 1e-8
	seed = 314159265.0
	mm   = 10 // points set to +1 and to -1 by zran3
)

type mgClass struct {
	n, nit int
	rnm2   float64 // verification value; 0 when none is given
}

var classes = map[byte]mgClass{
	'S': {32, 4, 0.5307707005734e-04},
	'W': {128, 4, 0.6467329375339e-05},
	'A': {256, 4, 0.2433365309069e-05},
}

// ErrRanks is returned for a rank count this port does not support.
var ErrRanks = errors.New("mg: unsupported number of ranks")

// Result is what one MG run computed.
type Result struct {
	Class      byte
	Rnm2, Rnmu float64
	Time, Mops float64
	Verified   bool
}

// mg is one rank's state: the levels 1..lt of u and r (level lt also has
// v), the stencil coefficients and scratch rows.
type mg struct {
	d          *decomp
	lt         int
	g          []grid3 // by level
	u, r       [][]float64
	v          []float64
	a, c       [4]float64
	w1, w2, w3 []float64
	w          []float64 // two scratch rows of the assembly resid and psinv
}

func newMG(ctx context.Context, c *comm.Comm, n int) (*mg, error) {
	np := c.Size()
	if np&(np-1) != 0 || np > 8 {
		return nil, fmt.Errorf("%w: %d (this MG port runs on 1, 2, 4 or 8 ranks)", ErrRanks, np)
	}
	lt := 0
	for 1<<lt < n {
		lt++
	}
	s := &mg{lt: lt}
	s.d = newDecomp(ctx, c, (n+2)*(n+2))
	s.g = make([]grid3, lt+1)
	s.u = make([][]float64, lt+1)
	s.r = make([][]float64, lt+1)
	for k := 1; k <= lt; k++ {
		s.g[k] = s.d.level(1 << k)
		s.u[k] = make([]float64, s.g[k].size())
		s.r[k] = make([]float64, s.g[k].size())
	}
	s.v = make([]float64, s.g[lt].size())
	s.a = [4]float64{-8.0 / 3.0, 0, 1.0 / 6.0, 1.0 / 12.0}
	// Classes S, W and A use the same smoother (mg.f).
	s.c = [4]float64{-3.0 / 8.0, 1.0 / 32.0, -1.0 / 64.0, 0}
	w := s.g[lt].m1
	s.w1, s.w2, s.w3 = make([]float64, w), make([]float64, w), make([]float64, w)
	s.w = make([]float64, 2*w)
	return s, nil
}

// cand is a zran3 candidate: a value and its global linear index.
type cand struct{ v, idx float64 }

// zran3 fills v as mg.f's zran3: the grid gets the stream of randlc numbers
// in global order (the point with global linear index L gets the (L+1)-th
// number after the seed), then the 10 largest points are set to +1, the 10
// smallest to -1 and the rest to 0.
func (s *mg) zran3(ctx context.Context, c *comm.Comm, n int) error {
	g := s.g[s.lt]
	z := s.v
	clear(z)
	a := uint64(npb.A)
	a1 := uint64(npb.Pow46(npb.A, uint64(n)))
	a2 := uint64(npb.Pow46(npb.A, uint64(n*n)))
	i0 := g.is[0] + n*(g.is[1]+n*g.is[2])
	x0 := uint64(npb.Skip(seed, npb.A, uint64(i0)))
	for i3 := 1; i3 < g.m3-1; i3++ {
		x1 := x0
		for i2 := 1; i2 < g.m2-1; i2++ {
			xx := x1
			row := z[g.m1*(i2+g.m2*i3):][:g.m1]
			for i1 := 1; i1 < g.m1-1; i1++ {
				xx = (xx * a) & npb.Mask46
				row[i1] = float64(xx) * npb.R46
			}
			x1 = (x1 * a1) & npb.Mask46
		}
		x0 = (x0 * a2) & npb.Mask46
	}

	// Local candidates, then the global 10 largest and smallest.
	var hi, lo []cand
	for i3 := 1; i3 < g.m3-1; i3++ {
		for i2 := 1; i2 < g.m2-1; i2++ {
			o := g.m1 * (i2 + g.m2*i3)
			for i1 := 1; i1 < g.m1-1; i1++ {
				val := z[o+i1]
				if len(hi) < mm || val > hi[0].v {
					idx := float64((g.is[0] + i1 - 1) + n*((g.is[1]+i2-1)+n*(g.is[2]+i3-1)))
					hi = insert(hi, cand{val, idx}, func(a, b float64) bool { return a < b })
				}
				if len(lo) < mm || val < lo[0].v {
					idx := float64((g.is[0] + i1 - 1) + n*((g.is[1]+i2-1)+n*(g.is[2]+i3-1)))
					lo = insert(lo, cand{val, idx}, func(a, b float64) bool { return a > b })
				}
			}
		}
	}
	np := c.Size()
	all := make([]float64, np*4*mm)
	mine := make([]float64, 4*mm)
	for i, cd := range hi {
		mine[2*i], mine[2*i+1] = cd.v, cd.idx
	}
	for i, cd := range lo {
		mine[2*mm+2*i], mine[2*mm+2*i+1] = cd.v, cd.idx
	}
	if err := collectives.Allgather(ctx, c, all, mine); err != nil {
		return err
	}
	var ghi, glo []cand
	for r := range np {
		b := all[r*4*mm:]
		for i := range mm {
			ghi = append(ghi, cand{b[2*i], b[2*i+1]})
			glo = append(glo, cand{b[2*mm+2*i], b[2*mm+2*i+1]})
		}
	}
	slices.SortFunc(ghi, func(x, y cand) int { return -cmpF(x.v, y.v) })
	slices.SortFunc(glo, func(x, y cand) int { return cmpF(x.v, y.v) })
	clear(z)
	set := func(cd cand, val float64) {
		L := int(cd.idx)
		gx, gy, gz := L%n, (L/n)%n, L/(n*n)
		i1, i2, i3 := gx-g.is[0]+1, gy-g.is[1]+1, gz-g.is[2]+1
		if i1 >= 1 && i1 < g.m1-1 && i2 >= 1 && i2 < g.m2-1 && i3 >= 1 && i3 < g.m3-1 {
			z[i1+g.m1*(i2+g.m2*i3)] = val
		}
	}
	for _, cd := range glo[:mm] {
		set(cd, -1)
	}
	for _, cd := range ghi[:mm] {
		set(cd, 1)
	}
	return s.d.comm3(z, g)
}

func cmpF(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// insert keeps the mm best candidates, worst first (less(worse, better)).
func insert(l []cand, cd cand, less func(a, b float64) bool) []cand {
	if len(l) == mm {
		l = l[1:]
	}
	i := 0
	for i < len(l) && less(l[i].v, cd.v) {
		i++
	}
	l = slices.Insert(slices.Clone(l), i, cd)
	return l
}

// normLocal returns this rank's part of mg.f's norm2u3 over the interior
// of r: the sum of squares, in mg.f's order, and the maximum |x|.
func normLocal(r []float64, g grid3) (sum, mx float64) {
	// The maximum of |x| is kept on the bits: for finite doubles, clearing
	// the sign bit and comparing as unsigned integers orders them as their
	// absolute values, and the integer max is a branch-free CMOV where a
	// float compare and branch costs more than the sum.
	var mb uint64
	for i3 := 1; i3 < g.m3-1; i3++ {
		for i2 := 1; i2 < g.m2-1; i2++ {
			row := r[g.m1*(i2+g.m2*i3):][:g.m1-1]
			for _, x := range row[1:] {
				sum += float64(x * x) // rounded before the sum, no FMA
				mb = max(mb, math.Float64bits(x)&^(1<<63))
			}
		}
	}
	return sum, math.Float64frombits(mb)
}

// norm2u3 completes mg.f's norm2u3 from every rank's normLocal: the L2
// norm of r over the whole grid and the maximum absolute value.
func (s *mg) norm2u3(ctx context.Context, c *comm.Comm, sum, mx float64, n int) (rnm2, rnmu float64, err error) {
	sb := []float64{sum}
	if err := npb.AllreduceSum(ctx, c, sb); err != nil {
		return 0, 0, err
	}
	mb := []float64{mx}
	if err := npb.AllreduceMax(ctx, c, mb); err != nil {
		return 0, 0, err
	}
	return math.Sqrt(sb[0] / (float64(n) * float64(n) * float64(n))), mb[0], nil
}

// mg3P is one V-cycle (mg.f's mg3P).
func (s *mg) mg3P() error {
	lt := s.lt
	for k := lt; k >= 2; k-- {
		if err := s.rprj3(s.r[k], s.g[k], s.r[k-1], s.g[k-1]); err != nil {
			return err
		}
	}
	clear(s.u[1])
	if err := s.psinv(s.r[1], s.u[1], s.g[1]); err != nil {
		return err
	}
	for k := 2; k <= lt-1; k++ {
		clear(s.u[k])
		if err := s.interp(s.u[k-1], s.g[k-1], s.u[k], s.g[k]); err != nil {
			return err
		}
		if err := s.resid(s.u[k], s.r[k], s.r[k], s.g[k]); err != nil {
			return err
		}
		if err := s.psinv(s.r[k], s.u[k], s.g[k]); err != nil {
			return err
		}
	}
	if err := s.interp(s.u[lt-1], s.g[lt-1], s.u[lt], s.g[lt]); err != nil {
		return err
	}
	if err := s.resid(s.u[lt], s.v, s.r[lt], s.g[lt]); err != nil {
		return err
	}
	return s.psinv(s.r[lt], s.u[lt], s.g[lt])
}

// Run runs MG of the given class on c and writes NPB's report to out on
// rank 0.
func Run(ctx context.Context, c *comm.Comm, class byte, out io.Writer) (Result, error) {
	cl, ok := classes[class]
	if !ok {
		return Result{}, fmt.Errorf("mg: unknown class %q", class)
	}
	s, err := newMG(ctx, c, cl.n)
	if err != nil {
		return Result{}, err
	}
	np, me := c.Size(), c.Rank()
	n := cl.n
	if me == 0 {
		fmt.Fprintf(out, "\n\n NAS Parallel Benchmarks 3.4 -- MG Benchmark (Go port)\n\n")
		fmt.Fprintf(out, " Size: %4dx%4dx%4d  (class %c)\n", n, n, n, class)
		fmt.Fprintf(out, " Iterations: %3d\n", cl.nit)
		fmt.Fprintf(out, " Number of processes: %6d\n", np)
		fmt.Fprintf(out, " Process grid: %d x %d x %d\n\n", s.d.pi[0], s.d.pi[1], s.d.pi[2])
	}
	lt := s.lt
	u, v, r, g := s.u[lt], s.v, s.r[lt], s.g[lt]
	if err := s.zran3(ctx, c, n); err != nil {
		return Result{}, err
	}
	// One untimed cycle, then u is reset.
	if err := s.resid(u, v, r, g); err != nil {
		return Result{}, err
	}
	if err := s.mg3P(); err != nil {
		return Result{}, err
	}
	if err := s.resid(u, v, r, g); err != nil {
		return Result{}, err
	}
	clear(u)

	if err := npb.Barrier(ctx, c); err != nil {
		return Result{}, err
	}
	start := time.Now()
	// mg.f's resid and norm2u3 of r, before the iterations and after
	// the last one, are done as one pass (residNorm).
	sum, mx, err := s.residNorm(u, v, r, g)
	if err != nil {
		return Result{}, err
	}
	if _, _, err := s.norm2u3(ctx, c, sum, mx, n); err != nil {
		return Result{}, err
	}
	for it := 1; it <= cl.nit; it++ {
		if me == 0 && (it == 1 || it == cl.nit || it%5 == 0) {
			fmt.Fprintf(out, "  iter %3d\n", it)
		}
		if err := s.mg3P(); err != nil {
			return Result{}, err
		}
		if it < cl.nit {
			err = s.resid(u, v, r, g)
		} else {
			sum, mx, err = s.residNorm(u, v, r, g)
		}
		if err != nil {
			return Result{}, err
		}
	}
	rnm2, rnmu, err := s.norm2u3(ctx, c, sum, mx, n)
	if err != nil {
		return Result{}, err
	}
	elapsed := []float64{time.Since(start).Seconds()}
	if err := npb.AllreduceMax(ctx, c, elapsed); err != nil {
		return Result{}, err
	}
	res := Result{Class: class, Rnm2: rnm2, Rnmu: rnmu, Time: elapsed[0]}
	res.Mops = 58 * float64(cl.nit) * float64(n) * float64(n) * float64(n) / res.Time / 1e6
	errRel := math.Abs(rnm2-cl.rnm2) / cl.rnm2
	res.Verified = errRel <= eps
	if me == 0 {
		fmt.Fprintf(out, "\n Benchmark completed\n")
		if res.Verified {
			fmt.Fprintln(out, " VERIFICATION SUCCESSFUL")
		} else {
			fmt.Fprintln(out, " VERIFICATION FAILED")
		}
		fmt.Fprintf(out, " L2 Norm is  %20.13E\n", rnm2)
		fmt.Fprintf(out, " Error is    %20.13E\n", errRel)
		rp := npb.Results{Name: "MG", Class: class, N1: n, N2: n, N3: n, Niter: cl.nit,
			Time: res.Time, Procs: np, Mops: res.Mops, OpType: "floating point", Verified: res.Verified}
		rp.Print(out)
	}
	return res, nil
}
