// Command npb-is is a Go port of the NAS Parallel Benchmarks' IS kernel
// (integer sort): keys are bucketed locally, buckets are assigned to ranks
// from the global bucket sizes, keys are exchanged with Alltoallv and ranked
// by counting, with NPB's partial verification at every iteration and its
// full verification at the end. The number of ranks must be a power of two.
//
//	go run ./examples/npb-is -class S
//	go run ./cmd/gorun -np 2 ./examples/npb-is -class A
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
	npb.Main("npb-is", "SWAB", ErrRanks, func(ctx context.Context, c *comm.Comm, class byte, out io.Writer) (bool, error) {
		r, err := Run(ctx, c, class, out)
		return r.Verified, err
	})
}
