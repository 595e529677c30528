// Command mismatch makes one mismatched collective call on purpose, for the
// tests of collective checking under a real gorun: its argument names the
// mistake, made by the last rank.
//
//	gorun -np 3 ./examples/internal/mismatch counts          # Allreduce of 10 elements on one rank, 20 elsewhere
//	gorun -np 3 --check ./examples/internal/mismatch roots   # Bcast with root 1 on one rank, 0 elsewhere
//	gorun -np 3 --check ./examples/internal/mismatch bcast-only-on-root
//
// A rank whose call fails prints its error and exits 1; gorun then ends
// the job. Every call has a deadline, so a mistake that no check catches
// ends the job too, with "deadline" in the errors.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: mismatch counts|roots|bcast-only-on-root")
		os.Exit(2)
	}
	world, err := comm.Init()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r, odd := world.Rank(), world.Size()-1
	switch os.Args[1] {
	case "counts":
		n := 20
		if r == odd {
			n = 10
		}
		err = collectives.Allreduce(ctx, world, make([]float64, n), make([]float64, n), collectives.Sum[float64]())
	case "roots":
		root := 0
		if r == odd {
			root = 1
		}
		err = collectives.Bcast(ctx, world, []int64{int64(r)}, root)
	case "bcast-only-on-root":
		if r == odd {
			err = collectives.Bcast(ctx, world, []int64{5}, odd)
		}
		if err == nil {
			x := []int64{77}
			err = collectives.Allreduce(ctx, world, x, nil, collectives.Sum[int64](), collectives.InPlace())
		}
	default:
		fmt.Fprintf(os.Stderr, "mismatch: unknown case %q\n", os.Args[1])
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "rank %d: %v\n", r, err)
		os.Exit(1)
	}
	fmt.Printf("rank %d: done\n", r)
	world.Close()
}
