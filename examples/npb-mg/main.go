// Command npb-mg is a Go port of the NAS Parallel Benchmarks' MG kernel
// (V-cycle multigrid on a periodic 3-D Poisson problem), with zran3's
// right-hand side and NPB-MPI's 3-D block decomposition and ghost-face
// exchanges. It runs on 1, 2, 4 or 8 ranks.
//
//	go run ./examples/npb-mg -class S
//	go run ./cmd/gorun -np 2 ./examples/npb-mg -class A
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
	npb.Main("npb-mg", "SWA", ErrRanks, func(ctx context.Context, c *comm.Comm, class byte, out io.Writer) (bool, error) {
		r, err := Run(ctx, c, class, out)
		return r.Verified, err
	})
}
