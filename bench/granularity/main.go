// Command granularity measures parallel slowdown: the speedup of a task farm
// over a plain serial loop as a function of task size, at whatever number of
// ranks it runs with.
//
// The work is a fixed number of identical units (one unit: 1,000 steps of a
// xorshift generator, about a microsecond). The farm cuts it into tasks of
// -grains units each; rank 0 coordinates, handing every task to a worker by
// message and receiving each result by message (AnySource), with -depth tasks
// in flight per worker. Every rank, rank 0 included, runs a worker (rank 0's
// gets its tasks from its own coordinator through the same messages), so at
// one rank the farm pays the full cost of splitting with nothing to gain.
// Small tasks spend their time in messages; large ones leave ranks idle at the
// end; in between, splitting pays.
//
// For reference it also measures "static": one contiguous block per rank and
// a single Allreduce, the cheapest split there is.
//
// Every run checks its result (an XOR of all unit results) against the serial
// loop. Rank 0 appends rows to -out (CSV). See run.sh; bench/plot draws it.
//
//	go run ./cmd/gorun -np 4 ./bench/granularity -out granularity.csv
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
)

const steps = 1000 // xorshift steps per unit

// unit is one unit of work: deterministic in j, so any split gives the same
// XOR of all results.
func unit(j int64) uint64 {
	x := uint64(j)*0x9e3779b97f4a7c15 | 1
	for range steps {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}

func units(lo, hi int64) uint64 {
	var acc uint64
	for j := lo; j < hi; j++ {
		acc ^= unit(j)
	}
	return acc
}

// sink keeps the serial loop's result alive.
var sink uint64

const (
	tagWork   = 1 // {lo, hi}; lo < 0 means stop
	tagResult = 2 // {xor}
)

func main() {
	total := flag.Int64("units", 200_000, "units of work per measurement (fewer for small grains, see -max-tasks)")
	maxTasks := flag.Int64("max-tasks", 6000, "at most this many tasks per measurement: small grains measure fewer units")
	grainList := flag.String("grains", "1,4,16,64,256,1024,4096,16384,65536", "task sizes to measure, in units")
	depth := flag.Int("depth", 2, "tasks in flight per worker")
	reps := flag.Int("reps", 3, "repetitions of each measurement (the median is kept)")
	outPath := flag.String("out", "", "append the results to this CSV file (rank 0)")
	flag.Parse()
	// Rank 0 runs a coordinator and a worker; a rank bound to one core
	// would otherwise get GOMAXPROCS 1 and answer messages only when the
	// worker is preempted.
	if runtime.GOMAXPROCS(0) < 2 {
		runtime.GOMAXPROCS(2)
	}
	var grains []int64
	for _, s := range strings.Split(*grainList, ",") {
		g, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil || g < 1 {
			fmt.Fprintf(os.Stderr, "bad grain %q\n", s)
			os.Exit(2)
		}
		grains = append(grains, g)
	}
	c, err := comm.Init()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ok, err := run(context.Background(), c, *total, *maxTasks, grains, *depth, *reps, *outPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := c.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if !ok {
		os.Exit(1)
	}
}

func run(ctx context.Context, c *comm.Comm, total, maxTasks int64, grains []int64, depth, reps int, outPath string) (bool, error) {
	rank, size := c.Rank(), c.Size()
	var rows []string
	ok := true

	// measure runs, reps times, the serial loop over n units on rank 0
	// (the other ranks wait) and then the parallel version par; serial and
	// parallel alternate, so a change in the machine's load affects both.
	measure := func(mode string, grain, n, tasks int64, par func() (uint64, error)) error {
		var serialT, parT []float64
		var got uint64
		for range reps {
			if rank == 0 {
				t := time.Now()
				sink ^= units(0, n)
				serialT = append(serialT, time.Since(t).Seconds())
			}
			if err := collectives.Barrier(ctx, c); err != nil {
				return err
			}
			t := time.Now()
			x, err := par()
			if err != nil {
				return err
			}
			parT = append(parT, time.Since(t).Seconds())
			got = x
		}
		if rank != 0 {
			return nil
		}
		serial, secs := median(serialT), median(parT)
		perUnit := serial / float64(n)
		rows = append(rows, fmt.Sprintf("%d,%s,%d,%.3f,%d,%d,%.6f,%.6f,%.3f",
			size, mode, grain, perUnit*float64(grain)*1e6, tasks, n, secs, serial, serial/secs))
		fmt.Printf("np %d  %-6s  grain %6d units  task %9.1f µs  %6d tasks  %8.2f ms (serial %8.2f ms)  speedup %5.2f\n",
			size, mode, grain, perUnit*float64(grain)*1e6, tasks, secs*1e3, serial*1e3, serial/secs)
		if want := units(0, n); got != want {
			fmt.Printf("FAILED: %s grain %d: checksum %x, want %x\n", mode, grain, got, want)
			ok = false
		}
		return nil
	}

	// Static: one block per rank, one Allreduce.
	err := measure("static", (total+int64(size)-1)/int64(size), total, int64(size), func() (uint64, error) {
		lo, hi := total*int64(rank)/int64(size), total*int64(rank+1)/int64(size)
		x := []uint64{units(lo, hi)}
		err := collectives.Allreduce(ctx, c, x, slices.Clone(x), collectives.BXor[uint64]())
		return x[0], err
	})
	if err != nil {
		return false, err
	}
	for _, g := range grains {
		n := min(total, g*maxTasks)
		n = max(n-n%g, g)
		err := measure("farm", g, n, (n+g-1)/g, func() (uint64, error) { return farm(ctx, c, n, g, depth) })
		if err != nil {
			return false, err
		}
	}

	if rank == 0 && outPath != "" {
		_, statErr := os.Stat(outPath)
		f, err := os.OpenFile(outPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return false, err
		}
		if os.IsNotExist(statErr) {
			fmt.Fprintln(f, "np,mode,grain_units,task_us,tasks,units,time_s,serial_s,speedup")
		}
		for _, r := range rows {
			fmt.Fprintln(f, r)
		}
		if err := f.Close(); err != nil {
			return false, err
		}
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

// farm computes the XOR of units [0, n) in tasks of g units. Every rank runs
// a worker; rank 0 also runs the coordinator, which returns the result.
func farm(ctx context.Context, c *comm.Comm, n, g int64, depth int) (uint64, error) {
	werr := make(chan error, 1)
	go func() { werr <- worker(ctx, c) }()
	var res uint64
	var err error
	if c.Rank() == 0 {
		res, err = coordinate(ctx, c, n, g, depth)
	}
	if e := <-werr; err == nil {
		err = e
	}
	return res, err
}

func coordinate(ctx context.Context, c *comm.Comm, n, g int64, depth int) (uint64, error) {
	size := c.Size()
	next := int64(0)
	inFlight := make([]int, size)
	send := func(w int) error {
		if next >= n {
			return nil
		}
		hi := min(next+g, n)
		if err := comm.Send(ctx, c, []int64{next, hi}, w, tagWork); err != nil {
			return err
		}
		next = hi
		inFlight[w]++
		return nil
	}
	for range depth {
		for w := range size {
			if err := send(w); err != nil {
				return 0, err
			}
		}
	}
	var acc uint64
	pending := 0
	for _, k := range inFlight {
		pending += k
	}
	buf := []uint64{0}
	for pending > 0 {
		st, err := comm.Recv(ctx, c, buf, comm.AnySource, tagResult)
		if err != nil {
			return 0, err
		}
		acc ^= buf[0]
		inFlight[st.Source]--
		pending--
		before := next
		if err := send(st.Source); err != nil {
			return 0, err
		}
		if next != before {
			pending++
		}
	}
	for w := range size {
		if err := comm.Send(ctx, c, []int64{-1, 0}, w, tagWork); err != nil {
			return 0, err
		}
	}
	return acc, nil
}

func worker(ctx context.Context, c *comm.Comm) error {
	task := make([]int64, 2)
	for {
		if _, err := comm.Recv(ctx, c, task, 0, tagWork); err != nil {
			return err
		}
		if task[0] < 0 {
			return nil
		}
		if err := comm.Send(ctx, c, []uint64{units(task[0], task[1])}, 0, tagResult); err != nil {
			return err
		}
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
