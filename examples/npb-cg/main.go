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
		fmt.Fprintln(os.Stderr, "npb-cg:", err)
		os.Exit(2)
	}
	c, err := comm.Init()
	if err != nil {
		fmt.Fprintln(os.Stderr, "npb-cg:", err)
		os.Exit(1)
	}
	r, err := Run(context.Background(), c, class, os.Stdout)
	if cerr := c.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, ErrRanks) {
		if c.Rank() == 0 {
			fmt.Fprintln(os.Stderr, "npb-cg:", err)
		}
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "npb-cg:", err)
		os.Exit(1)
	}
	if !r.Verified {
		os.Exit(1)
	}
}
