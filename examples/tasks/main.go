// Command tasks shows task parallelism with gorun, the way
// concurrent.futures' submit/as_completed and a multiprocessing task queue
// are used in Python.
//
// Part 1, "jobs": several different jobs — a slow simulated download (an
// I/O-like wait), a quick lookup (another wait), a computation (counting
// primes with a sieve) and a report (statistics of a text) — are submitted
// by rank 0 to a parallel.Executor whose workers are the other ranks, and
// run at once. Rank 0 takes the results in the order they complete
// (parallel.AsCompleted) and checks each against a serial computation.
//
// Part 2, "farm": parallel.MapValue with chunks of one item hands work
// items (intervals whose primes are counted by trial division, of
// deliberately uneven cost) to whichever rank asks next; rank 0 works too,
// between requests. With -schedule static the items are instead split into
// one contiguous block per rank, to show the imbalance the farm avoids. The
// total is checked against a sieve.
//
//	go run ./cmd/gorun -np 4 ./examples/tasks
//	go run ./cmd/gorun -np 4 ./examples/tasks -part farm -schedule static
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"

	"github.com/gorun-hpc/gorun/examples/internal/exmain"
)

// Params configure both parts.
type Params struct {
	Part string // "jobs", "farm" or "all"

	// jobs
	DownloadMS, LookupMS int   // simulated I/O waits
	PrimesN              int64 // the computation counts primes below PrimesN

	// farm
	FarmN    int64  // the farm counts primes below FarmN
	Items    int    // in this many intervals of uneven length
	Schedule string // "dynamic" (the farm) or "static" (one block per rank)

	Corrupt bool // spoil one result on purpose (tests)
}

func main() {
	var p Params
	flag.StringVar(&p.Part, "part", "all", "what to run: jobs, farm or all")
	flag.IntVar(&p.DownloadMS, "download-ms", 300, "duration of the simulated download job (ms)")
	flag.IntVar(&p.LookupMS, "lookup-ms", 50, "duration of the simulated lookup job (ms)")
	flag.Int64Var(&p.PrimesN, "primes-n", 5_000_000, "the compute job counts primes below this")
	flag.Int64Var(&p.FarmN, "farm-n", 3_000_000, "the farm counts primes below this")
	flag.IntVar(&p.Items, "items", 240, "number of farm work items")
	flag.StringVar(&p.Schedule, "schedule", "dynamic", "farm schedule: dynamic (coordinator hands items to free workers) or static (one block of items per rank)")
	flag.BoolVar(&p.Corrupt, "corrupt", false, "spoil one result on purpose (to test the checks)")
	flag.Parse()
	// A rank bound to one core gets GOMAXPROCS 1, and then the goroutine
	// that reads the network only runs when the computing goroutine is
	// preempted (about every 10 ms): rank 0 would answer the workers late.
	// A second P keeps a thread waiting on the network, which the kernel
	// wakes at once when a request arrives.
	if runtime.GOMAXPROCS(0) < 2 {
		runtime.GOMAXPROCS(2)
	}

	exmain.Main("tasks", func(ctx context.Context, c *comm.Comm, out io.Writer) (bool, error) {
		return Run(ctx, c, p, out)
	})
}

// Run runs the selected parts on every rank and returns rank 0's verdict on
// every rank.
func Run(ctx context.Context, c *comm.Comm, p Params, out io.Writer) (bool, error) {
	ok := true
	if p.Part == "jobs" || p.Part == "all" {
		good, err := runJobs(ctx, c, p, out)
		if err != nil {
			return false, err
		}
		ok = ok && good
	}
	if p.Part == "farm" || p.Part == "all" {
		good, err := runFarm(ctx, c, p, out)
		if err != nil {
			return false, err
		}
		ok = ok && good
	}
	if p.Part != "jobs" && p.Part != "farm" && p.Part != "all" {
		return false, fmt.Errorf("tasks: unknown part %q", p.Part)
	}
	v := []int64{0}
	if ok {
		v[0] = 1
	}
	if err := collectives.Bcast(ctx, c, v, 0); err != nil {
		return false, err
	}
	return v[0] == 1, nil
}
