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
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/examples/internal/npb"
)

func main() {
	classFlag := flag.String("class", "S", "problem class: S, W, A or B")
	flag.Parse()
	class, err := npb.ParseClass(*classFlag, "SWAB")
	if err != nil {
		fmt.Fprintln(os.Stderr, "npb-ep:", err)
		os.Exit(2)
	}
	c, err := comm.Init()
	if err != nil {
		fmt.Fprintln(os.Stderr, "npb-ep:", err)
		os.Exit(1)
	}
	var out io.Writer = os.Stdout
	r, err := Run(context.Background(), c, class, out)
	if cerr := c.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "npb-ep:", err)
		os.Exit(1)
	}
	if !r.Verified {
		os.Exit(1)
	}
}
