package main

import (
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"time"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
)

// Params of a run.
type Params struct {
	N           int     // bodies
	Steps       int     // time steps
	Dt          float64 // time step
	Eps         float64 // softening length
	Seed        uint64
	EnergyEvery int     // steps between energy measurements
	Tol         float64 // largest relative energy error allowed
}

// MomentumTol is the largest momentum error allowed (total mass 1).
const MomentumTol = 1e-12

// DefaultParams returns the flags' defaults.
func DefaultParams() Params {
	return Params{N: 512, Steps: 200, Dt: 1e-3, Eps: 0.05, Seed: 1, EnergyEvery: 10, Tol: 1e-5}
}

// Result of a run, the same on every rank (every rank holds all positions).
type Result struct {
	E0, E        float64 // initial and final total energy
	MaxRelErr    float64 // max |E(t) - E0| / |E0| over the measurements
	MaxMomentum  float64 // max |P(t) - P0|
	Pass         bool
	Checksum     uint64    // FNV-1a of the final positions' bits
	Pos          []float64 // final positions, x y z per body
	Elapsed      time.Duration
	Interactions float64 // pair interactions computed, all ranks
}

// span returns the bodies [lo, hi) of rank r of p.
func span(n, p, r int) (lo, hi int) { return n * r / p, n * (r + 1) / p }

// initial returns positions and velocities of all n bodies (3n values each).
func initial(n int, seed uint64) (pos, vel []float64) {
	rng := rand.New(rand.NewPCG(seed, 0x6e626f6479))
	pos, vel = make([]float64, 3*n), make([]float64, 3*n)
	sigma := math.Sqrt(0.2)
	var mean [3]float64
	for i := range n {
		for {
			x, y, z := 2*rng.Float64()-1, 2*rng.Float64()-1, 2*rng.Float64()-1
			if x*x+y*y+z*z <= 1 {
				pos[3*i], pos[3*i+1], pos[3*i+2] = x, y, z
				break
			}
		}
		for k := range 3 {
			vel[3*i+k] = sigma * rng.NormFloat64()
			mean[k] += vel[3*i+k]
		}
	}
	for i := range n {
		for k := range 3 {
			vel[3*i+k] -= mean[k] / float64(n)
		}
	}
	return pos, vel
}

// accel computes the accelerations of bodies lo..hi-1 from all bodies.
func accel(acc, pos []float64, lo, hi int, m, eps2 float64) {
	for i := lo; i < hi; i++ {
		xi, yi, zi := pos[3*i], pos[3*i+1], pos[3*i+2]
		var ax, ay, az float64
		for q := pos; len(q) >= 3; q = q[3:] {
			dx, dy, dz := q[0]-xi, q[1]-yi, q[2]-zi
			r2 := dx*dx + dy*dy + dz*dz + eps2
			inv := 1 / (r2 * math.Sqrt(r2)) // the j == i term adds 0
			ax += dx * inv
			ay += dy * inv
			az += dz * inv
		}
		k := 3 * (i - lo)
		acc[k], acc[k+1], acc[k+2] = m*ax, m*ay, m*az
	}
}

// measure returns this rank's kinetic energy, potential energy (half of each
// pair, counted from both ends) and momentum.
func measure(pos, vel []float64, lo, hi int, m, eps2 float64) [5]float64 {
	n := len(pos) / 3
	var s [5]float64
	for i := lo; i < hi; i++ {
		k := 3 * (i - lo)
		vx, vy, vz := vel[k], vel[k+1], vel[k+2]
		s[0] += 0.5 * m * (vx*vx + vy*vy + vz*vz)
		s[2] += m * vx
		s[3] += m * vy
		s[4] += m * vz
		xi, yi, zi := pos[3*i], pos[3*i+1], pos[3*i+2]
		var w float64
		for j := range n {
			if j == i {
				continue
			}
			dx, dy, dz := pos[3*j]-xi, pos[3*j+1]-yi, pos[3*j+2]-zi
			w += 1 / math.Sqrt(dx*dx+dy*dy+dz*dz+eps2)
		}
		s[1] -= 0.5 * m * m * w
	}
	return s
}

// Run integrates the system on c and reports to out (pass io.Discard on all
// ranks but one).
func Run(ctx context.Context, c *comm.Comm, p Params, out io.Writer) (Result, error) {
	var res Result
	size, rank := c.Size(), c.Rank()
	if p.N < size || p.Steps < 0 || p.Dt <= 0 || p.Eps < 0 || p.EnergyEvery < 1 {
		return res, fmt.Errorf("bad parameters (need -n >= ranks = %d, -dt > 0, -energy-every >= 1): %+v", size, p)
	}
	pos, allVel := initial(p.N, p.Seed)
	lo, hi := span(p.N, size, rank)
	vel := append([]float64(nil), allVel[3*lo:3*hi]...)
	counts, displs := make([]int, size), make([]int, size)
	for r := range size {
		a, b := span(p.N, size, r)
		counts[r], displs[r] = 3*(b-a), 3*a
	}
	m, eps2, dt := 1/float64(p.N), p.Eps*p.Eps, p.Dt
	acc := make([]float64, 3*(hi-lo))

	sums := make([]float64, 5)
	energy := func() ([5]float64, error) {
		s := measure(pos, vel, lo, hi, m, eps2)
		if err := collectives.Allreduce(ctx, c, sums, s[:], collectives.Sum[float64]()); err != nil {
			return s, err
		}
		return [5]float64(sums), nil
	}
	s0, err := energy()
	if err != nil {
		return res, err
	}
	res.E0 = s0[0] + s0[1]
	fmt.Fprintf(out, "nbody: %d bodies on %d ranks, %d steps of %g, softening %g\n", p.N, size, p.Steps, p.Dt, p.Eps)
	fmt.Fprintf(out, "step %6d  E = %.12f  (K %.6f, W %.6f)\n", 0, res.E0, s0[0], s0[1])

	if err := collectives.Barrier(ctx, c); err != nil {
		return res, err
	}
	start := time.Now()
	accel(acc, pos, lo, hi, m, eps2)
	mine := pos[3*lo : 3*hi]
	for step := 1; step <= p.Steps; step++ {
		for k := range vel {
			vel[k] += 0.5 * dt * acc[k] // kick
			mine[k] += dt * vel[k]      // drift
		}
		// Everyone's new positions; in place: this rank's block is already there.
		if err := collectives.Allgatherv(ctx, c, pos, counts, displs, nil, collectives.InPlace()); err != nil {
			return res, fmt.Errorf("step %d: %w", step, err)
		}
		accel(acc, pos, lo, hi, m, eps2)
		for k := range vel {
			vel[k] += 0.5 * dt * acc[k] // kick
		}
		if step%p.EnergyEvery == 0 || step == p.Steps {
			s, err := energy()
			if err != nil {
				return res, err
			}
			e := s[0] + s[1]
			res.E = e
			res.MaxRelErr = max(res.MaxRelErr, math.Abs(e-res.E0)/math.Abs(res.E0))
			dp := math.Sqrt((s[2]-s0[2])*(s[2]-s0[2]) + (s[3]-s0[3])*(s[3]-s0[3]) + (s[4]-s0[4])*(s[4]-s0[4]))
			res.MaxMomentum = max(res.MaxMomentum, dp)
			if step%(p.EnergyEvery*10) == 0 || step == p.Steps {
				fmt.Fprintf(out, "step %6d  E = %.12f  relative error %.3e  |ΔP| %.1e\n", step, e, math.Abs(e-res.E0)/math.Abs(res.E0), dp)
			}
		}
	}
	res.Elapsed = time.Since(start)
	res.Interactions = float64(p.N) * float64(p.N) * float64(p.Steps+1)
	res.Pos = pos
	h := fnv.New64a()
	var buf [8]byte
	for _, v := range pos {
		bits := math.Float64bits(v)
		for k := range 8 {
			buf[k] = byte(bits >> (8 * k))
		}
		h.Write(buf[:])
	}
	res.Checksum = h.Sum64()
	res.Pass = res.MaxRelErr <= p.Tol && res.MaxMomentum <= MomentumTol

	fmt.Fprintf(out, "positions checksum %016x\n", res.Checksum)
	fmt.Fprintf(out, "elapsed %.6f s  (%.1f M interactions/s)\n", res.Elapsed.Seconds(), res.Interactions/res.Elapsed.Seconds()/1e6)
	verdict := "PASS"
	if !res.Pass {
		verdict = "FAIL"
	}
	fmt.Fprintf(out, "VERDICT %s: max relative energy error %.3e (tolerance %.1e), momentum error %.1e (tolerance %.0e)\n",
		verdict, res.MaxRelErr, p.Tol, res.MaxMomentum, MomentumTol)
	return res, nil
}
