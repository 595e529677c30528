// Command nbody integrates a self-gravitating system of N equal-mass bodies
// with the leapfrog (kick-drift-kick) scheme, the bodies split in blocks over
// the ranks.
//
// Each step every rank kicks and drifts its own bodies, the ranks assemble
// the new positions of all bodies with Allgatherv (Allgather with uneven
// blocks, since N need not divide evenly), and each rank computes the
// accelerations of its own bodies from all N (direct summation, O(N²/p) per
// rank). Forces use Plummer softening ε: the pair potential is
// -G m_i m_j / sqrt(r² + ε²), with G = 1 and total mass 1. Every body's
// acceleration is summed over the bodies in the same order on any number of
// ranks, so the trajectory is bit-for-bit the same on any number of ranks.
//
// Initial conditions (the same on every rank from -seed): positions uniform
// in the unit ball, velocities Gaussian with per-component variance 0.2
// (about virial equilibrium for a uniform sphere), centre-of-mass motion
// removed.
//
// Check. Every -energy-every steps the ranks sum kinetic energy, potential
// energy and momentum with one Allreduce. The run passes when the largest
// relative energy error max |E(t) - E(0)| / |E(0)| is at most -tol (default
// 1e-5 with the default dt = 1e-3 and ε = 0.05) and the momentum error
// |P(t) - P(0)| is at most 1e-12 (total mass 1). It prints a line starting
// "VERDICT PASS" or "VERDICT FAIL" and exits 1 on failure.
//
//	go run ./cmd/gorun -np 4 ./examples/nbody
//	go run ./cmd/gorun -np 2 ./examples/nbody -n 2048 -steps 100
package main

import (
	"context"
	"flag"
	"io"

	"github.com/gorun-hpc/gorun/comm"

	"github.com/gorun-hpc/gorun/examples/internal/exmain"
)

func main() {
	p := DefaultParams()
	flag.IntVar(&p.N, "n", p.N, "number of bodies")
	flag.IntVar(&p.Steps, "steps", p.Steps, "time steps")
	flag.Float64Var(&p.Dt, "dt", p.Dt, "time step")
	flag.Float64Var(&p.Eps, "eps", p.Eps, "softening length")
	flag.Uint64Var(&p.Seed, "seed", p.Seed, "seed of the initial conditions")
	flag.IntVar(&p.EnergyEvery, "energy-every", p.EnergyEvery, "measure energy and momentum every this many steps")
	flag.Float64Var(&p.Tol, "tol", p.Tol, "largest relative energy error allowed")
	flag.Parse()

	exmain.Main("nbody", func(ctx context.Context, c *comm.Comm, out io.Writer) (bool, error) {
		r, err := Run(ctx, c, p, out)
		return r.Pass, err
	})
}
