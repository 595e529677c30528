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
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/examples/internal/npb"
)

func main() {
	classFlag := flag.String("class", "S", "problem class: S, W or A")
	flag.Parse()
	class, err := npb.ParseClass(*classFlag, "SWA")
	if err != nil {
		fmt.Fprintln(os.Stderr, "npb-mg:", err)
		os.Exit(2)
	}
	c, err := comm.Init()
	if err != nil {
		fmt.Fprintln(os.Stderr, "npb-mg:", err)
		os.Exit(1)
	}
	r, err := Run(context.Background(), c, class, os.Stdout)
	if cerr := c.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, ErrRanks) {
		if c.Rank() == 0 {
			fmt.Fprintln(os.Stderr, "npb-mg:", err)
		}
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "npb-mg:", err)
		os.Exit(1)
	}
	if !r.Verified {
		os.Exit(1)
	}
}
