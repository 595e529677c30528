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
	mode = flag.String("mode", "cycle", "cycle | skipbarrier | roots | compute | sleep")
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
	buf := make([]int64, 4)
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
