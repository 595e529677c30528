// Command npb-ep is a Go port of the NAS Parallel Benchmarks' EP kernel
// (embarrassingly parallel Gaussian pairs by acceptance-rejection), on
// gorun's communicator. Run it alone (one rank) or under gorun:
//
//	go run ./examples/npb-ep -class S
//	go run ./cmd/gorun -np 4 ./examples/npb-ep -class A
//
// It exits with status 1 when verification fails.
package main

import (
	"context"
	"io"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/examples/internal/npb"
)

func main() {
	npb.Main("npb-ep", "SWAB", nil, func(ctx context.Context, c *comm.Comm, class byte, out io.Writer) (bool, error) {
		r, err := Run(ctx, c, class, out)
		return r.Verified, err
	})
}
