// Command sharedtable keeps a large read-mostly lookup table once per
// host, in a node-shared window (comm.Comm.AllocateShared, like
// MPI_Win_allocate_shared), instead of once per rank: the ranks of each
// host (comm.Comm.SplitType with comm.TypeShared) build it together, each
// filling its stripe of the host's one copy, fence, and then every rank
// reads the whole table with plain loads.
//
// The table holds f(i) = sqrt(i) + sin(i/1000) for i < -entries. It checks
// itself: every rank verifies its stripe of every entry against f (so the
// whole table is checked on every host) and makes -lookups random lookups
// of the whole table, each compared with f; the counts of wrong entries
// are summed over the job (Allreduce). -corrupt makes world rank 0 spoil
// one entry of its host's table after the build, to show that the check
// fails. It prints a line starting "VERDICT PASS" or "VERDICT FAIL" and
// exits 1 on failure.
//
//	go run ./cmd/gorun -np 4 ./examples/sharedtable
//	go run ./cmd/gorun -H h1:2,h2:2,h3:2 ./examples/sharedtable -entries 4000000
//	go run ./cmd/gorun -np 4 ./examples/sharedtable -corrupt   (fails)
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"syscall"
	"time"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"

	"github.com/gorun-hpc/gorun/examples/internal/exmain"
)

// Params of a run.
type Params struct {
	Entries int    // table entries (float64 each)
	Lookups int    // random lookups per rank
	Seed    uint64 // each rank draws its lookups from the stream (Seed, rank)
	Corrupt bool   // world rank 0 spoils one entry after the build
	// Die, "abort" or "kill", ends the last world rank after the build
	// (Abort(3), or SIGKILL of itself), to show that no segment outlives
	// the job.
	Die string
}

// Result of a run, the same on every rank but LocalSize.
type Result struct {
	Hosts     int   // hosts of the job
	LocalSize int   // ranks of this rank's host
	Wrong     int64 // wrong entries found, over the job
	Pass      bool
	Elapsed   time.Duration
}

func main() {
	var p Params
	flag.IntVar(&p.Entries, "entries", 1<<20, "table entries (8 bytes each), kept once per host")
	flag.IntVar(&p.Lookups, "lookups", 1_000_000, "random lookups per rank")
	flag.Uint64Var(&p.Seed, "seed", 2026, "random seed of the lookups")
	flag.BoolVar(&p.Corrupt, "corrupt", false, "spoil one entry after the build (the check must then fail)")
	flag.StringVar(&p.Die, "die", "", "abort or kill: end the last rank after the build (the job fails; no segment is left)")
	flag.Parse()
	exmain.Main("sharedtable", func(ctx context.Context, c *comm.Comm, out io.Writer) (bool, error) {
		r, err := Run(ctx, c, p, out)
		return r.Pass, err
	})
}

// f is the table's function.
func f(i int) float64 { return math.Sqrt(float64(i)) + math.Sin(float64(i)/1000) }

// Run builds the table once per host of c, checks it, and reports to out
// (pass io.Discard on all ranks but one).
func Run(ctx context.Context, c *comm.Comm, p Params, out io.Writer) (Result, error) {
	if p.Entries <= 0 || p.Lookups < 0 {
		return Result{}, fmt.Errorf("-entries must be positive and -lookups not negative, got %d and %d", p.Entries, p.Lookups)
	}
	if p.Die != "" && p.Die != "abort" && p.Die != "kill" {
		return Result{}, fmt.Errorf("-die must be abort or kill, got %q", p.Die)
	}
	start := time.Now()
	node, err := c.SplitType(ctx, comm.TypeShared, 0)
	if err != nil {
		return Result{}, err
	}
	nodes, err := c.Nodes(ctx)
	if err != nil {
		return Result{}, err
	}
	// The host's rank 0 holds the whole table; the others ask for
	// nothing and use its slice.
	size := 0
	if node.Rank() == 0 {
		size = 8 * p.Entries
	}
	win, err := node.AllocateShared(ctx, size)
	if err != nil {
		return Result{}, err
	}
	defer win.Free()
	table, err := comm.SharedOf[float64](win, 0)
	if err != nil {
		return Result{}, err
	}
	lr, ls := node.Rank(), node.Size()
	for i := lr; i < p.Entries; i += ls { // this rank's stripe
		table[i] = f(i)
	}
	if err := win.Fence(ctx); err != nil { // the table is complete on every rank of the host
		return Result{}, err
	}
	if p.Die != "" && c.Rank() == c.Size()-1 {
		if p.Die == "abort" {
			c.Abort(3)
		}
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
	}
	if p.Corrupt {
		if c.Rank() == 0 {
			table[p.Entries/2] += 1e-9
		}
		if err := win.Fence(ctx); err != nil {
			return Result{}, err
		}
	}
	// Check the stripe of the next rank of the host (what another rank
	// wrote), then random entries of the whole table.
	var wrong int64
	for i := (lr + 1) % ls; i < p.Entries; i += ls {
		if table[i] != f(i) {
			wrong++
		}
	}
	rng := rand.New(rand.NewPCG(p.Seed, uint64(c.Rank())))
	for range p.Lookups {
		i := rng.IntN(p.Entries)
		if table[i] != f(i) {
			wrong++
		}
	}
	total := []int64{0}
	if err := collectives.Allreduce(ctx, c, total, []int64{wrong}, collectives.Sum[int64]()); err != nil {
		return Result{}, err
	}
	r := Result{Hosts: nodes.Hosts, LocalSize: ls, Wrong: total[0], Elapsed: time.Since(start)}
	r.Pass = r.Wrong == 0
	mib := float64(8*p.Entries) / (1 << 20)
	fmt.Fprintf(out, "table of %d entries (%.1f MiB) kept once on each of %d hosts, %d ranks (%.1f MiB per host instead of %.1f for host 0's %d ranks)\n",
		p.Entries, mib, r.Hosts, c.Size(), mib, mib*float64(ls), ls)
	fmt.Fprintf(out, "elapsed %.6f s\n", r.Elapsed.Seconds())
	if r.Pass {
		fmt.Fprintf(out, "VERDICT PASS: every entry equals f(i) (each rank checked another's stripe, and %d random entries)\n", p.Lookups)
	} else {
		fmt.Fprintf(out, "VERDICT FAIL: %d wrong entries found\n", r.Wrong)
	}
	return r, nil
}
