package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"time"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/examples/internal/npb"
)

const (
	cgitmax = 25    // CG iterations per outer iteration (cg.f)
	rcond   = 0.1   // setparams.c
	eps     = 1e-10 // verification tolerance (cg.f)
	seed    = 314159265.0
)

type cgClass struct {
	na, nonzer, niter int
	shift             float64
	zeta              float64 // verification value; 0 when none is given
}

var classes = map[byte]cgClass{
	'S': {1400, 7, 15, 10, 8.5971775078648},
	'W': {7000, 8, 15, 12, 10.362595087124},
	'A': {14000, 11, 15, 20, 17.130235054029},
	'B': {75000, 13, 75, 60, 0},
}

// ErrRanks is returned when the number of ranks is not one NPB's CG
// decomposition supports (a power of two dividing the problem evenly).
var ErrRanks = errors.New("cg: unsupported number of ranks")

// Result is what one CG run computed.
type Result struct {
	Class    byte
	Zeta     float64   // after the last iteration
	Trace    []float64 // zeta per timed iteration
	Rnorm    float64   // final residual norm of the last iteration
	Time     float64
	Mops     float64
	Verified bool
	HasRef   bool
}

// Message tags.
const (
	tagReduce = 100 // + step: row-segment reduction
	tagTransp = 200 // transpose exchange
	tagScalar = 300 // + step: scalar reductions
)

// solver holds one rank's share of NPB-MPI's 2-D decomposition: a block of
// rows x columns of the matrix, the vectors x, z, p, q, r by column block
// (replicated across process rows) and w by row block.
type solver struct {
	ctx      context.Context
	c        *comm.Comm
	me       int
	nprows   int
	npcols   int
	procRow  int
	procCol  int
	b        *block
	nrows    int
	ncols    int
	own      int   // offset in w of the segment the rank holds after the row reduction
	partners []int // row reduction partners, step by step
	halve    bool  // first reduction step exchanges halves (npcols = 2*nprows)
	exch     int   // transpose partner
	x, z     []float64
	p, q, r  []float64
	w, tmp   []float64
	sbuf     []float64
	rbuf     []float64
}

// grid returns NPB's process grid for np ranks (cg.f's setup_proc_info).
func grid(np int) (nprows, npcols int, ok bool) {
	if np < 1 || np&(np-1) != 0 {
		return 0, 0, false
	}
	l := bits.TrailingZeros(uint(np))
	return 1 << (l / 2), 1 << ((l + 1) / 2), true
}

func newSolver(ctx context.Context, c *comm.Comm, cl cgClass) (*solver, error) {
	np, me := c.Size(), c.Rank()
	nprows, npcols, ok := grid(np)
	if !ok {
		return nil, fmt.Errorf("%w: %d (NPB CG needs a power of two)", ErrRanks, np)
	}
	n := cl.na
	if n%nprows != 0 || n%npcols != 0 {
		return nil, fmt.Errorf("%w: %d (a %dx%d grid does not divide na=%d evenly)", ErrRanks, np, nprows, npcols, n)
	}
	s := &solver{ctx: ctx, c: c, me: me, nprows: nprows, npcols: npcols,
		procRow: me / npcols, procCol: me % npcols}
	s.nrows, s.ncols = n/nprows, n/npcols
	firstrow := s.procRow*s.nrows + 1
	firstcol := s.procCol*s.ncols + 1

	// Row reduction schedule and transpose partner (cg.f's
	// setup_submatrix_info). With a square grid every step exchanges the
	// whole row segment (recursive doubling, an allreduce); with
	// npcols = 2*nprows the first step swaps halves with the neighbour
	// (me xor 1), a reduce-scatter, and the later steps exchange only the
	// rank's own half.
	l2 := bits.TrailingZeros(uint(npcols))
	if npcols == nprows {
		s.exch = (me%nprows)*nprows + me/nprows
		for i := range l2 {
			s.partners = append(s.partners, s.procRow*npcols+(s.procCol^(npcols>>(i+1))))
		}
	} else {
		s.halve = true
		// After the reduce-scatter the rank holds half me%2 of its row
		// block, which is column block 2*procRow + me%2.
		s.own = (me % 2) * s.ncols
		s.exch = 2*((me/2)%nprows*nprows+me/2/nprows) + me%2
		s.partners = append(s.partners, s.procRow*npcols+(s.procCol^1))
		for i := range l2 - 1 {
			s.partners = append(s.partners, s.procRow*npcols+(s.procCol^(npcols>>(i+1))))
		}
	}

	g := &gen{tran: seed}
	g.next() // cg.f draws and discards one number before makea
	b, err := makea(g, n, cl.nonzer, rcond, cl.shift, firstrow, firstrow+s.nrows-1, firstcol, firstcol+s.ncols-1)
	if err != nil {
		return nil, err
	}
	s.b = b
	vec := func(k int) []float64 { return make([]float64, k) }
	s.x, s.z, s.p, s.q, s.r = vec(s.ncols), vec(s.ncols), vec(s.ncols), vec(s.ncols), vec(s.ncols)
	s.w, s.tmp = vec(s.nrows), vec(s.nrows)
	s.sbuf, s.rbuf = vec(2), vec(2)
	return s, nil
}

// spmv computes w = A_blk * p (local rows of the block).
func (s *solver) spmv(w, p []float64) {
	rowstr, colidx, a := s.b.rowstr, s.b.colidx, s.b.a
	w = w[:len(rowstr)-1]
	for j := range w {
		lo, hi := rowstr[j], rowstr[j+1]
		cols := colidx[lo:hi]
		vals := a[lo:hi]
		vals = vals[:len(cols)]
		sum := 0.0
		for k, col := range cols {
			sum += vals[k] * p[col]
		}
		w[j] = sum
	}
}

// matvec computes dst = A*p in column-block layout: local product, sum of
// the partial row segments across the process row, and the transpose
// exchange that moves the rank's column segment to its owner.
func (s *solver) matvec(dst, p []float64) error {
	s.spmv(s.w, p)
	w, tmp := s.w, s.tmp
	own, nc := s.own, s.ncols
	for i, partner := range s.partners {
		var send, recv []float64
		var lo int
		if s.halve && i == 0 {
			// Send the neighbour's half, receive ours.
			other := 0
			if own == 0 {
				other = nc
			}
			send, recv, lo = w[other:other+nc], tmp[own:own+nc], own
		} else if s.halve {
			send, recv, lo = w[own:own+nc], tmp[own:own+nc], own
		} else {
			send, recv, lo = w, tmp, 0
		}
		if _, err := comm.Sendrecv(s.ctx, s.c, send, partner, tagReduce+i, recv, partner, tagReduce+i); err != nil {
			return err
		}
		seg := w[lo : lo+len(recv)]
		for j, v := range recv {
			seg[j] += v
		}
	}
	if s.exch == s.me {
		copy(dst, w[own:own+nc])
		return nil
	}
	_, err := comm.Sendrecv(s.ctx, s.c, w[own:own+nc], s.exch, tagTransp, dst, s.exch, tagTransp)
	return err
}

// rowSum sums v (one or two partial sums) across the process row by
// recursive doubling, as cg.f does for its dot products.
func (s *solver) rowSum(v []float64) error {
	for k := 0; 1<<k < s.npcols; k++ {
		partner := s.procRow*s.npcols + (s.procCol ^ (1 << k))
		copy(s.sbuf, v)
		if _, err := comm.Sendrecv(s.ctx, s.c, s.sbuf[:len(v)], partner, tagScalar+k, s.rbuf[:len(v)], partner, tagScalar+k); err != nil {
			return err
		}
		for i := range v {
			v[i] += s.rbuf[i]
		}
	}
	return nil
}

func dot(a, b []float64) float64 {
	b = b[:len(a)]
	sum := 0.0
	for i, v := range a {
		sum += v * b[i]
	}
	return sum
}

// conjGrad runs cgitmax CG iterations for A z = x from z = 0 and returns
// the residual norm ||x - A z|| (cg.f's conj_grad).
func (s *solver) conjGrad() (float64, error) {
	x, z, p, q, r := s.x, s.z, s.p, s.q, s.r
	q, z, p, r = q[:len(x)], z[:len(x)], p[:len(x)], r[:len(x)]
	for j, v := range x {
		q[j] = 0
		z[j] = 0
		r[j] = v
		p[j] = v
	}
	var v1 [1]float64
	v1[0] = dot(r, r)
	if err := s.rowSum(v1[:]); err != nil {
		return 0, err
	}
	rho := v1[0]
	for range cgitmax {
		if err := s.matvec(q, p); err != nil {
			return 0, err
		}
		v1[0] = dot(p, q)
		if err := s.rowSum(v1[:]); err != nil {
			return 0, err
		}
		alpha := rho / v1[0]
		rho0 := rho
		sum := 0.0
		for j := range z {
			z[j] += alpha * p[j]
			rj := r[j] - alpha*q[j]
			r[j] = rj
			sum += rj * rj
		}
		v1[0] = sum
		if err := s.rowSum(v1[:]); err != nil {
			return 0, err
		}
		rho = v1[0]
		beta := rho / rho0
		for j := range p {
			p[j] = r[j] + beta*p[j]
		}
	}
	// Residual: r = A z, then ||x - r||.
	if err := s.matvec(r, z); err != nil {
		return 0, err
	}
	sum := 0.0
	for j, v := range x {
		d := v - r[j]
		sum += d * d
	}
	v1[0] = sum
	if err := s.rowSum(v1[:]); err != nil {
		return 0, err
	}
	return math.Sqrt(v1[0]), nil
}

// outer runs one outer iteration: CG, then the norms x.z and z.z, and
// x = z/||z||. It returns zeta = shift + 1/(x.z) and the residual norm.
func (s *solver) outer(shift float64) (zeta, rnorm float64, err error) {
	rnorm, err = s.conjGrad()
	if err != nil {
		return 0, 0, err
	}
	var nt [2]float64
	nt[0] = dot(s.x, s.z)
	nt[1] = dot(s.z, s.z)
	if err := s.rowSum(nt[:]); err != nil {
		return 0, 0, err
	}
	inv := 1 / math.Sqrt(nt[1])
	zeta = shift + 1/nt[0]
	x, z := s.x, s.z[:len(s.x)]
	for j := range x {
		x[j] = inv * z[j]
	}
	return zeta, rnorm, nil
}

// Run runs CG of the given class on c and writes NPB's report to out on
// rank 0. It returns ErrRanks (wrapped) when c's size is not supported.
func Run(ctx context.Context, c *comm.Comm, class byte, out io.Writer) (Result, error) {
	cl, ok := classes[class]
	if !ok {
		return Result{}, fmt.Errorf("cg: unknown class %q", class)
	}
	np, me := c.Size(), c.Rank()
	if _, _, ok := grid(np); !ok {
		return Result{}, fmt.Errorf("%w: %d (NPB CG needs a power of two)", ErrRanks, np)
	}
	if me == 0 {
		fmt.Fprintf(out, "\n\n NAS Parallel Benchmarks 3.4 -- CG Benchmark (Go port)\n\n")
		fmt.Fprintf(out, " Size: %11d\n", cl.na)
		fmt.Fprintf(out, " Iterations: %5d\n", cl.niter)
		fmt.Fprintf(out, " Number of active processes: %5d\n", np)
		fmt.Fprintf(out, " Number of nonzeroes per row: %8d\n", cl.nonzer)
		fmt.Fprintf(out, " Eigenvalue shift: %8.3E\n", cl.shift)
	}
	s, err := newSolver(ctx, c, cl)
	if err != nil {
		return Result{}, err
	}
	if me == 0 {
		fmt.Fprintf(out, " Process grid: %d x %d (2-D, NPB-MPI distribution)\n\n", s.nprows, s.npcols)
	}

	// One untimed iteration, then x is reset to ones.
	for j := range s.x {
		s.x[j] = 1
	}
	if _, _, err := s.outer(cl.shift); err != nil {
		return Result{}, err
	}
	for j := range s.x {
		s.x[j] = 1
	}

	if err := npb.Barrier(ctx, c); err != nil {
		return Result{}, err
	}
	start := time.Now()
	res := Result{Class: class, Trace: make([]float64, 0, cl.niter)}
	if me == 0 {
		fmt.Fprintf(out, "   iteration           ||r||                 zeta\n")
	}
	for it := 1; it <= cl.niter; it++ {
		zeta, rnorm, err := s.outer(cl.shift)
		if err != nil {
			return Result{}, err
		}
		res.Zeta, res.Rnorm = zeta, rnorm
		res.Trace = append(res.Trace, zeta)
		if me == 0 {
			fmt.Fprintf(out, "    %5d       %20.14E%20.13f\n", it, rnorm, zeta)
		}
	}
	elapsed := []float64{time.Since(start).Seconds()}
	if err := npb.AllreduceMax(ctx, c, elapsed); err != nil {
		return Result{}, err
	}
	res.Time = elapsed[0]
	nz := float64(cl.nonzer)
	ops := 2 * float64(cl.niter) * float64(cl.na) * (3 + nz*(nz+1) + 25*(5+nz*(nz+1)) + 3)
	if res.Time > 0 {
		res.Mops = 1e-6 * ops / res.Time
	}
	res.HasRef = cl.zeta != 0
	if res.HasRef {
		res.Verified = math.Abs(res.Zeta-cl.zeta)/cl.zeta <= eps
	}
	if me == 0 {
		fmt.Fprintf(out, " Benchmark completed\n")
		if res.HasRef {
			if res.Verified {
				fmt.Fprintf(out, " VERIFICATION SUCCESSFUL\n")
			} else {
				fmt.Fprintf(out, " VERIFICATION FAILED\n")
			}
			fmt.Fprintf(out, " Zeta is    %20.13E\n", res.Zeta)
			fmt.Fprintf(out, " Error is   %20.13E\n", (res.Zeta-cl.zeta)/cl.zeta)
		} else {
			fmt.Fprintf(out, " Problem size unknown: no reference value for class %c\n", class)
			fmt.Fprintf(out, " Zeta is    %.17E (full precision)\n", res.Zeta)
			fmt.Fprintf(out, " VERIFICATION FAILED (no reference value)\n")
		}
		r := npb.Results{Name: "CG", Class: class, N1: cl.na, Niter: cl.niter,
			Time: res.Time, Procs: np, Mops: res.Mops,
			OpType: "floating point", Verified: res.Verified}
		r.Print(out)
	}
	return res, nil
}
