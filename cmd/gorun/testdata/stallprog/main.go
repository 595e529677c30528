// Command stallprog is the rank program of gorun's stall and deadlock
// tests: -mode picks a way to hang (or to look as if it might, and not).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
)

var (
	mode = flag.String("mode", "cycle", "cycle | skipbarrier | roots | compute | sleep | counts | countsfail")
	dur  = flag.Duration("for", 2*time.Second, "compute, sleep: how long rank 0 works before joining")
)

func main() {
	flag.Parse()
	c, err := comm.Init()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx := context.Background()
	r, n := c.Rank(), c.Size()
	buf := make([]int64, 8)
	switch *mode {
	case "cycle":
		// Every rank receives from the next one first: a cycle of Recvs.
		_, err = comm.Recv(ctx, c, buf, (r+1)%n, 9)
	case "skipbarrier":
		// The last rank skips the Barrier and waits for a message no
		// one sends.
		if r == n-1 {
			_, err = comm.Recv(ctx, c, buf, 0, 5)
		} else {
			err = collectives.Barrier(ctx, c)
		}
	case "roots":
		// The last rank names another root; then everyone waits in a
		// Barrier for the data that never comes right.
		root := 0
		if r == n-1 {
			root = 1
		}
		if err = collectives.Bcast(ctx, c, buf, root, collectives.WithAlgorithm("linear")); err == nil {
			_, err = comm.Recv(ctx, c, buf, comm.AnySource, 77)
		}
	case "compute", "sleep":
		// Rank 0 works for a while (burning CPU, or asleep) while the
		// others wait for it in a Barrier: slow, not deadlocked.
		if r == 0 {
			if *mode == "sleep" {
				time.Sleep(*dur)
			} else {
				x := 1.0
				for end := time.Now().Add(*dur); time.Now().Before(end); {
					for range 1000 {
						x = x*1.0000001 + 1e-9
					}
				}
				buf[0] = int64(x)
			}
		}
		err = collectives.Barrier(ctx, c)
	case "counts", "countsfail":
		// Known counts for --stats: per rank 5 Sends and 5 Recvs of 64
		// bytes around a ring, 3 Allreduces of 32 bytes (recursive
		// doubling), 2 Barriers, 4 Isends and 4 Irecvs of 64 bytes and 8
		// Waits on them. countsfail: then rank 1 exits 3 while the
		// others wait for it.
		next, prev := (r+1)%n, (r+n-1)%n
		for i := 0; i < 5 && err == nil; i++ {
			if err = comm.Send(ctx, c, buf[:8], next, 1); err == nil {
				_, err = comm.Recv(ctx, c, buf[:8], prev, 1)
			}
		}
		red := make([]float64, 4)
		for i := 0; i < 3 && err == nil; i++ {
			err = collectives.Allreduce(ctx, c, red, []float64{1, 2, 3, 4}, collectives.Sum[float64](), collectives.WithAlgorithm("recdoubling"))
		}
		for i := 0; i < 2 && err == nil; i++ {
			err = collectives.Barrier(ctx, c)
		}
		in := make([]int64, 8)
		for i := 0; i < 4 && err == nil; i++ {
			rr := comm.Irecv(c, in, prev, 2)
			sr := comm.Isend(c, buf[:8], next, 2)
			err = comm.WaitAll(ctx, rr, sr)
		}
		if err == nil && *mode == "countsfail" {
			if r == 1 {
				os.Exit(3)
			}
			_, err = comm.Recv(ctx, c, buf[:1], 1, 99)
		}
	default:
		err = fmt.Errorf("unknown -mode %q", *mode)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "rank %d: %v\n", r, err)
		os.Exit(1)
	}
	if err := c.Close(); err != nil {
		fmt.Fprintf(os.Stderr, "rank %d: %v\n", r, err)
		os.Exit(1)
	}
	fmt.Printf("rank %d: ok\n", r)
}
