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
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/examples/internal/npb"
)

func main() {
	classFlag := flag.String("class", "S", "problem class: S, W, A or B")
	flag.Parse()
	class, err := npb.ParseClass(*classFlag, "SWAB")
	if err != nil {
		fmt.Fprintln(os.Stderr, "npb-is:", err)
		os.Exit(2)
	}
	c, err := comm.Init()
	if err != nil {
		fmt.Fprintln(os.Stderr, "npb-is:", err)
		os.Exit(1)
	}
	r, err := Run(context.Background(), c, class, os.Stdout)
	if cerr := c.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, ErrRanks) {
		if c.Rank() == 0 {
			fmt.Fprintln(os.Stderr, "npb-is:", err)
		}
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "npb-is:", err)
		os.Exit(1)
	}
	if !r.Verified {
		os.Exit(1)
	}
}
