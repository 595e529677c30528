package main

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"time"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
)

// Params of a run.
type Params struct {
	N               int     // interior points per side
	Tol             float64 // convergence threshold on the largest change of a step; 0: none
	MaxSteps        int     // total steps, counted from step 0
	CheckEvery      int     // steps between convergence tests
	CheckpointEvery int     // steps between checkpoints; 0: none
	CheckpointDir   string
	Restart         bool   // resume from the newest checkpoint in CheckpointDir
	PNG             string // image of the final field; "": none
	Overlap         bool   // overlap the halo exchange with the interior update
	Neighbor        bool   // exchange halos with one NeighborAlltoallv (Overlap then unused)
}

// DefaultParams returns the flags' defaults.
func DefaultParams() Params {
	return Params{N: 48, Tol: 1e-8, MaxSteps: 200_000, CheckEvery: 10,
		CheckpointDir: "heat2d-checkpoints", PNG: "heat2d.png", Overlap: true}
}

// Result of a run. Field is set on rank 0 only.
type Result struct {
	Dims      []int // process grid (rows of blocks, columns of blocks)
	Start     int   // first step (non-zero after -restart)
	Steps     int   // step reached
	Converged bool
	Delta     float64 // largest change of the last step
	MaxErr    float64 // max |u - u_exact|
	Bound     float64 // the error allowed
	Pass      bool
	Checksum  uint64        // FNV-1a of the final interior field's bits, row-major
	Field     []float64     // rank 0: the (N+2)×(N+2) field, boundary included, row-major (y rows)
	Elapsed   time.Duration // time of the iteration (restart read and checkpoints included)
}

// Exact is the analytic steady state.
func Exact(x, y float64) float64 {
	return math.Sin(math.Pi*x) * math.Sinh(math.Pi*y) / math.Sinh(math.Pi)
}

// span returns the part [lo, hi) of n points that block c of p owns.
func span(n, p, c int) (lo, hi int) { return n * c / p, n * (c + 1) / p }

// Message tags of the halo exchange: the direction a message travels.
const (
	tagUp    = 1 // towards larger y (dim 0, +1)
	tagDown  = 2
	tagRight = 3 // towards larger x (dim 1, +1)
	tagLeft  = 4
)

// block is one rank's part of the field.
type block struct {
	n            int // global interior points per side
	i0, j0       int // global interior index of the first owned column and row
	nx, ny       int // owned columns and rows
	w            int // row stride: nx + 2
	u, v         []float64
	down, up     int // neighbours along y (ProcNull at the edge)
	left, right  int // neighbours along x
	sendL, sendR []float64
	recvL, recvR []float64
	h            float64
}

func (b *block) at(li, lj int) int { return lj*b.w + li }

// newBlock allocates the block at grid coordinates and sets the fixed boundary
// values into the ghost ring of both buffers.
func newBlock(g *collectives.Cart, n int) *block {
	dims := g.Dims()
	co := g.Coords(g.Rank())
	j0, j1 := span(n, dims[0], co[0])
	i0, i1 := span(n, dims[1], co[1])
	b := &block{n: n, i0: i0, j0: j0, nx: i1 - i0, ny: j1 - j0, h: 1 / float64(n+1)}
	b.w = b.nx + 2
	b.u = make([]float64, b.w*(b.ny+2))
	b.v = make([]float64, b.w*(b.ny+2))
	b.down, b.up = g.Shift(0, 1)
	b.left, b.right = g.Shift(1, 1)
	b.sendL, b.sendR = make([]float64, b.ny), make([]float64, b.ny)
	b.recvL, b.recvR = make([]float64, b.ny), make([]float64, b.ny)
	if b.up == collectives.ProcNull { // the top edge y = 1: u = sin(πx)
		for li := 1; li <= b.nx; li++ {
			x := float64(b.i0+li) * b.h
			b.u[b.at(li, b.ny+1)] = math.Sin(math.Pi * x)
			b.v[b.at(li, b.ny+1)] = b.u[b.at(li, b.ny+1)]
		}
	}
	return b
}

// rows updates the owned points of rows lj0..lj1 (inclusive), columns
// li0..li1, from u into v and returns the largest change.
func (b *block) update(li0, li1, lj0, lj1 int, delta float64) float64 {
	u, v, w := b.u, b.v, b.w
	for lj := lj0; lj <= lj1; lj++ {
		row := lj * w
		for k := row + li0; k <= row+li1; k++ {
			nv := ((u[k-1] + u[k+1]) + (u[k-w] + u[k+w])) * 0.25
			if d := math.Abs(nv - u[k]); d > delta {
				delta = d
			}
			v[k] = nv
		}
	}
	return delta
}

// edges updates the owned points next to the ghost ring.
func (b *block) edges(delta float64) float64 {
	delta = b.update(1, b.nx, 1, 1, delta)
	if b.ny > 1 {
		delta = b.update(1, b.nx, b.ny, b.ny, delta)
	}
	if b.ny > 2 {
		delta = b.update(1, 1, 2, b.ny-1, delta)
		if b.nx > 1 {
			delta = b.update(b.nx, b.nx, 2, b.ny-1, delta)
		}
	}
	return delta
}

// step does one Jacobi sweep with the halo exchange and returns the largest
// change on this rank.
func (b *block) step(ctx context.Context, c *comm.Comm, overlap bool) (float64, error) {
	reqs := make([]*comm.Request, 0, 8)
	// Rows are contiguous: receive straight into the ghost rows and send
	// straight from the owned edge rows (u is only read during the step).
	if b.down != collectives.ProcNull {
		reqs = append(reqs, comm.Irecv(c, b.u[b.at(1, 0):b.at(1, 0)+b.nx], b.down, tagUp))
		reqs = append(reqs, comm.Isend(c, b.u[b.at(1, 1):b.at(1, 1)+b.nx], b.down, tagDown))
	}
	if b.up != collectives.ProcNull {
		reqs = append(reqs, comm.Irecv(c, b.u[b.at(1, b.ny+1):b.at(1, b.ny+1)+b.nx], b.up, tagDown))
		reqs = append(reqs, comm.Isend(c, b.u[b.at(1, b.ny):b.at(1, b.ny)+b.nx], b.up, tagUp))
	}
	// Columns are strided: pack them.
	if b.left != collectives.ProcNull {
		for lj := 1; lj <= b.ny; lj++ {
			b.sendL[lj-1] = b.u[b.at(1, lj)]
		}
		reqs = append(reqs, comm.Irecv(c, b.recvL, b.left, tagRight))
		reqs = append(reqs, comm.Isend(c, b.sendL, b.left, tagLeft))
	}
	if b.right != collectives.ProcNull {
		for lj := 1; lj <= b.ny; lj++ {
			b.sendR[lj-1] = b.u[b.at(b.nx, lj)]
		}
		reqs = append(reqs, comm.Irecv(c, b.recvR, b.right, tagLeft))
		reqs = append(reqs, comm.Isend(c, b.sendR, b.right, tagRight))
	}
	delta := 0.0
	if overlap && b.nx > 2 && b.ny > 2 {
		// The inner points need no ghost value: update them while the
		// messages travel.
		delta = b.update(2, b.nx-1, 2, b.ny-1, delta)
	}
	if err := comm.WaitAll(ctx, reqs...); err != nil {
		return 0, err
	}
	if b.left != collectives.ProcNull {
		for lj := 1; lj <= b.ny; lj++ {
			b.u[b.at(0, lj)] = b.recvL[lj-1]
		}
	}
	if b.right != collectives.ProcNull {
		for lj := 1; lj <= b.ny; lj++ {
			b.u[b.at(b.nx+1, lj)] = b.recvR[lj-1]
		}
	}
	if overlap && b.nx > 2 && b.ny > 2 {
		delta = b.edges(delta)
	} else {
		delta = b.update(1, b.nx, 1, b.ny, delta)
	}
	b.u, b.v = b.v, b.u
	return delta, nil
}

// agree turns a local error into a collective one: every rank gets an error
// if any rank had one (so no rank runs on alone into a later collective).
func agree(ctx context.Context, c *comm.Comm, err error) error {
	flag := []int32{0}
	if err != nil {
		flag[0] = 1
	}
	if e := collectives.Allreduce(ctx, c, flag, nil, collectives.Max[int32](), collectives.InPlace()); e != nil {
		return errors.Join(err, e)
	}
	if err != nil {
		return err
	}
	if flag[0] != 0 {
		return errors.New("another rank failed (see its error)")
	}
	return nil
}

// Run solves the problem on c and reports to out (pass io.Discard on all
// ranks but one).
func Run(ctx context.Context, world *comm.Comm, p Params, out io.Writer) (Result, error) {
	var res Result
	if p.N < 1 || p.MaxSteps < 0 || p.CheckEvery < 1 || p.CheckpointEvery < 0 {
		return res, fmt.Errorf("bad parameters: -n %d -max-steps %d -check-every %d -checkpoint-every %d",
			p.N, p.MaxSteps, p.CheckEvery, p.CheckpointEvery)
	}
	dims, err := collectives.DimsCreate(world.Size(), []int{0, 0})
	if err != nil {
		return res, err
	}
	if dims[0] > p.N || dims[1] > p.N {
		return res, fmt.Errorf("a %dx%d process grid needs -n >= %d", dims[0], dims[1], max(dims[0], dims[1]))
	}
	g, err := collectives.NewCart(ctx, world, dims, []bool{false, false})
	if err != nil {
		return res, err
	}
	c := g.Comm()
	b := newBlock(g, p.N)
	res.Dims = dims

	if p.Restart {
		step, err := readCheckpoint(ctx, c, b, p.CheckpointDir)
		if err != nil {
			return res, fmt.Errorf("restart: %w", err)
		}
		res.Start = step
		fmt.Fprintf(out, "restarted from step %d (%s)\n", step, p.CheckpointDir)
	}
	fmt.Fprintf(out, "heat2d: %dx%d interior points, %d ranks as a %dx%d grid, tol %g, at most %d steps\n",
		p.N, p.N, c.Size(), dims[0], dims[1], p.Tol, p.MaxSteps)

	if err := collectives.Barrier(ctx, c); err != nil {
		return res, err
	}
	start := time.Now()
	step := res.Start
	delta := math.Inf(1)
	glob := []float64{0}
	hl := newHalo(b)
	for step < p.MaxSteps {
		var local float64
		var err error
		if p.Neighbor {
			local, err = b.stepNeighbor(ctx, g, hl)
		} else {
			local, err = b.step(ctx, c, p.Overlap)
		}
		if err != nil {
			return res, fmt.Errorf("step %d: %w", step+1, err)
		}
		step++
		if p.CheckpointEvery > 0 && step%p.CheckpointEvery == 0 {
			if err := writeCheckpoint(ctx, c, b, p.CheckpointDir, step); err != nil {
				return res, fmt.Errorf("checkpoint at step %d: %w", step, err)
			}
		}
		if step%p.CheckEvery == 0 || step == p.MaxSteps {
			if err := collectives.Allreduce(ctx, c, glob, []float64{local}, collectives.Max[float64]()); err != nil {
				return res, err
			}
			delta = glob[0]
			if delta < p.Tol {
				res.Converged = true
				break
			}
		}
	}
	res.Elapsed = time.Since(start)
	res.Steps = step

	// Error against the analytic solution.
	maxErr := 0.0
	for lj := 1; lj <= b.ny; lj++ {
		y := float64(b.j0+lj) * b.h
		for li := 1; li <= b.nx; li++ {
			x := float64(b.i0+li) * b.h
			maxErr = max(maxErr, math.Abs(b.u[b.at(li, lj)]-Exact(x, y)))
		}
	}
	if err := collectives.Allreduce(ctx, c, glob, []float64{maxErr}, collectives.Max[float64]()); err != nil {
		return res, err
	}
	res.MaxErr = glob[0]
	res.Delta = delta
	if step == res.Start {
		res.Delta = 0 // no step taken: nothing to estimate from
	}
	h := b.h
	res.Bound = math.Pow(math.Pi, 4)*h*h/48 + res.Delta/(1-math.Cos(math.Pi*h))
	res.Pass = res.MaxErr <= res.Bound

	field, err := gatherField(ctx, c, g, b)
	if err != nil {
		return res, err
	}
	if c.Rank() == 0 {
		res.Field = field
		sum := fnv.New64a()
		var buf [8]byte
		for j := 1; j <= p.N; j++ {
			for i := 1; i <= p.N; i++ {
				bits := math.Float64bits(field[j*(p.N+2)+i])
				for k := range 8 {
					buf[k] = byte(bits >> (8 * k))
				}
				sum.Write(buf[:])
			}
		}
		res.Checksum = sum.Sum64()
	}
	var pngErr error
	if c.Rank() == 0 && p.PNG != "" {
		pngErr = writePNG(p.PNG, field, p.N, res)
	}
	if err := agree(ctx, c, pngErr); err != nil {
		return res, fmt.Errorf("image: %w", err)
	}

	conv := "not converged"
	if res.Converged {
		conv = "converged"
	}
	fmt.Fprintf(out, "%s after %d steps (largest change of the last step %.3e)\n", conv, res.Steps, res.Delta)
	if !res.Converged {
		fmt.Fprintf(out, "note: not converged, so the check allows the estimated iteration error %.3e\n", res.Delta/(1-math.Cos(math.Pi*h)))
	}
	fmt.Fprintf(out, "field checksum %016x\n", res.Checksum)
	if c.Rank() == 0 && p.PNG != "" {
		fmt.Fprintf(out, "image written to %s\n", p.PNG)
	}
	fmt.Fprintf(out, "elapsed %.6f s\n", res.Elapsed.Seconds())
	if res.Pass {
		fmt.Fprintf(out, "VERDICT PASS: max |u - u_exact| = %.3e <= %.3e (π⁴h²/48 + δ/(1-cos πh))\n", res.MaxErr, res.Bound)
	} else {
		fmt.Fprintf(out, "VERDICT FAIL: max |u - u_exact| = %.3e > %.3e (π⁴h²/48 + δ/(1-cos πh))\n", res.MaxErr, res.Bound)
	}
	return res, nil
}

// gatherField collects the owned blocks on rank 0 and returns the whole
// (N+2)×(N+2) field there, boundary values included.
func gatherField(ctx context.Context, c *comm.Comm, g *collectives.Cart, b *block) ([]float64, error) {
	mine := make([]float64, 0, b.nx*b.ny)
	for lj := 1; lj <= b.ny; lj++ {
		mine = append(mine, b.u[b.at(1, lj):b.at(1, lj)+b.nx]...)
	}
	n, size := b.n, c.Size()
	dims := g.Dims()
	counts := make([]int, size)
	for r := range size {
		co := g.Coords(r)
		j0, j1 := span(n, dims[0], co[0])
		i0, i1 := span(n, dims[1], co[1])
		counts[r] = (j1 - j0) * (i1 - i0)
	}
	var all []float64
	if c.Rank() == 0 {
		all = make([]float64, n*n)
	}
	if err := collectives.Gatherv(ctx, c, all, counts, nil, mine, 0); err != nil {
		return nil, err
	}
	if c.Rank() != 0 {
		return nil, nil
	}
	w := n + 2
	field := make([]float64, w*w)
	off := 0
	for r := range size {
		co := g.Coords(r)
		j0, j1 := span(n, dims[0], co[0])
		i0, i1 := span(n, dims[1], co[1])
		for j := j0; j < j1; j++ {
			copy(field[(j+1)*w+i0+1:], all[off:off+i1-i0])
			off += i1 - i0
		}
	}
	for i := 1; i <= n; i++ {
		field[(n+1)*w+i] = math.Sin(math.Pi * float64(i) / float64(n+1))
	}
	return field, nil
}
