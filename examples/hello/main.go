// Command hello is the README's example: a ring exchange and an Allreduce.
package main

import (
	"context"
	"fmt"
	"log"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
)

func main() {
	world, err := comm.Init() // under gorun: the job's world; alone: a world of one
	check(err)
	defer world.Close()
	ctx := context.Background()

	// Point to point, typed, without encoding: a ring.
	r, n := world.Rank(), world.Size()
	got := make([]float64, 3)
	_, err = comm.Sendrecv(ctx, world, []float64{float64(r), 1, 2}, (r+1)%n, 0, got, (r+n-1)%n, 0)
	check(err)

	// A collective.
	sum := make([]float64, 1)
	check(collectives.Allreduce(ctx, world, sum, []float64{float64(r)}, collectives.Sum[float64]()))
	fmt.Printf("rank %d of %d: left neighbour %v, sum of ranks %v\n", r, n, got[0], sum[0])
}

func check(err error) {
	if err != nil {
		log.Fatal(err) // a failed rank ends the job: gorun names it and stops the others
	}
}
