// Package exmain is the common main of the examples: join the job, run,
// print on rank 0 only, close, and exit non-zero when the run fails or its
// self-check does.
package exmain

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/gorun-hpc/gorun/comm"
)

// Main joins the job with comm.Init, calls run with the world and an
// output that is standard output on rank 0 and discarded elsewhere, closes
// the world, and exits: 1 if anything failed or run's verdict is false
// (every rank should return the same verdict), 0 otherwise. name prefixes
// error messages. It does not return.
func Main(name string, run func(ctx context.Context, c *comm.Comm, out io.Writer) (pass bool, err error)) {
	world, err := comm.Init()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
	out := io.Discard
	if world.Rank() == 0 {
		out = os.Stdout
	}
	pass, err := run(context.Background(), world, out)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: rank %d: %v\n", name, world.Rank(), err)
		os.Exit(1)
	}
	if err := world.Close(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: rank %d: %v\n", name, world.Rank(), err)
		os.Exit(1)
	}
	if !pass {
		os.Exit(1)
	}
	os.Exit(0)
}
