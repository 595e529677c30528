// Command heat2d solves the 2-D heat equation u_t = Δu on the unit square to
// its steady state by Jacobi iteration, on a Cartesian grid of ranks.
//
// Problem. Dirichlet boundary: u = sin(πx) on the top edge (y = 1), u = 0 on
// the other three; initial field 0. The steady state (Laplace's equation) has
// the analytic solution
//
//	u(x, y) = sin(πx) · sinh(πy) / sinh(π).
//
// Scheme. N×N interior points, spacing h = 1/(N+1). An explicit Euler step of
// the heat equation with the largest stable time step dt = h²/4 is exactly a
// Jacobi sweep for Laplace's equation:
//
//	u'(i,j) = ((u(i-1,j) + u(i+1,j)) + (u(i,j-1) + u(i,j+1))) / 4.
//
// Parallelism. The ranks form a P×Q grid (collectives.DimsCreate and
// NewCart); each owns a block of the field with a one-point ghost ring. Every
// step posts non-blocking receives and sends of its four edges (Irecv/Isend),
// updates the points that need no ghost value while the messages travel,
// waits, and then updates its edge points. With -neighbor, one
// NeighborAlltoallv on the grid exchanges the four edges instead (the same
// field, bit for bit). Every -check-every steps an
// Allreduce(Max) of the largest change of the step decides convergence
// (change < -tol). Each point's update is the same arithmetic whatever the
// decomposition, so the field is bit-for-bit the same on any number of ranks.
//
// Check. The run passes when max |u - u_exact| over the grid is at most
//
//	π⁴h²/48 + δ/(1-cos(πh))
//
// The first term bounds the discretisation error (truncation error
// h²π⁴|u|/6 times ‖Δ_h⁻¹‖∞ ≤ 1/8); the second estimates the iteration error
// from δ, the largest change of the last step, with cos(πh) the spectral
// radius of the Jacobi iteration (an asymptotic estimate). It prints a line
// starting "VERDICT PASS" or "VERDICT FAIL" and exits 1 on failure.
//
// Checkpoints. With -checkpoint-every K > 0, every K steps the ranks write the
// field into one file in -checkpoint-dir (each rank writes its own rows at
// their offsets; the file is renamed into place once complete, and the two
// newest are kept). -restart resumes from the newest checkpoint there, on any
// number of ranks, and reaches bit-for-bit the same final field as an
// uninterrupted run. The ranks must share the checkpoint directory (one host,
// or a shared file system).
//
// Output. A PNG image of the final field (-png, default heat2d.png; "" for
// none), written by rank 0.
//
//	go run ./cmd/gorun -np 4 ./examples/heat2d -n 64
//	go run ./cmd/gorun -np 4 ./examples/heat2d -n 64 -max-steps 2000 -checkpoint-every 500 -checkpoint-dir /tmp/ck
//	go run ./cmd/gorun -np 2 ./examples/heat2d -n 64 -restart -checkpoint-dir /tmp/ck
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
	flag.IntVar(&p.N, "n", p.N, "interior grid points per side")
	flag.Float64Var(&p.Tol, "tol", p.Tol, "stop when the largest change of a step is below this (0: run -max-steps)")
	flag.IntVar(&p.MaxSteps, "max-steps", p.MaxSteps, "stop after this many steps in all (counted from step 0, also after -restart)")
	flag.IntVar(&p.CheckEvery, "check-every", p.CheckEvery, "test convergence (an Allreduce) every this many steps")
	flag.IntVar(&p.CheckpointEvery, "checkpoint-every", p.CheckpointEvery, "write a checkpoint every this many steps (0: never)")
	flag.StringVar(&p.CheckpointDir, "checkpoint-dir", p.CheckpointDir, "directory of the checkpoint files")
	flag.BoolVar(&p.Restart, "restart", false, "resume from the newest checkpoint in -checkpoint-dir")
	flag.StringVar(&p.PNG, "png", p.PNG, "write an image of the final field to this file (\"\": none)")
	flag.BoolVar(&p.Overlap, "overlap", p.Overlap, "overlap the halo exchange with the interior update")
	flag.BoolVar(&p.Neighbor, "neighbor", p.Neighbor, "exchange the halos with one collectives.NeighborAlltoallv a step (no overlap)")
	flag.Parse()

	exmain.Main("heat2d", func(ctx context.Context, c *comm.Comm, out io.Writer) (bool, error) {
		r, err := Run(ctx, c, p, out)
		return r.Pass, err
	})
}
