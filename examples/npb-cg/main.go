// Command npb-cg is a Go port of the NAS Parallel Benchmarks' CG kernel
// (conjugate gradient within an inverse power method), with NPB's matrix
// generator and NPB-MPI's 2-D process grid: the matrix is split in
// nprows x npcols blocks, partial products are summed along process rows by
// recursive doubling and redistributed by a transpose exchange, all with
// point-to-point messages. The number of ranks must be a power of two.
//
//	go run ./examples/npb-cg -class S
//	go run ./cmd/gorun -np 4 ./examples/npb-cg -class A
//
// Exit status: 1 when verification fails or the run errs, 2 for an
// unsupported class or rank count.
package main

import (
	"context"
	"io"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/examples/internal/npb"
)

func main() {
	npb.Main("npb-cg", "SWAB", ErrRanks, func(ctx context.Context, c *comm.Comm, class byte, out io.Writer) (bool, error) {
		r, err := Run(ctx, c, class, out)
		return r.Verified, err
	})
}
