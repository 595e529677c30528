// Command parallel measures package parallel on the three workloads that
// scripts/bench-parallel.sh compares with the Python peers (multiprocessing,
// concurrent.futures, mpi4py.futures, Dask, pandas):
//
//	map      parallel.Map of x*x + 2x + 1 over 10^6 int64 held by rank 0,
//	         dynamic chunks of -chunk elements (Pool.map's chunksize)
//	tasks    -tasks tiny tasks (x*x + 1) through parallel.MapTasks on an
//	         executor: rank 0 submits, the other ranks serve, -inflight
//	         tasks in flight per worker, run as batches (-batches)
//	latency  one task's round trip: Submit then Wait, -reps times
//	groupby  the mean age per year of a generated table of -rows rows
//	         (year, age; a fraction -skew of the rows in 1996), already
//	         partitioned over the ranks: parallel.GroupBy with Mean, then
//	         Collect on rank 0
//
// Run it under gorun; rank 0 prints one line per repetition:
//
//	RESULT workload=map np=2 seconds=0.0123 items=1000000 rate=8.1e+07
//
// (rate is items per second; for latency, seconds is the median round trip
// and rate its inverse). Every workload checks its result and exits 1 when
// it is wrong.
//
//	gorun -np 2 ./bench/parallel -workload tasks -reps 3
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"syscall"
	"time"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/parallel"
)

func main() {
	workload := flag.String("workload", "map", "map, tasks, latency or groupby")
	n := flag.Int("n", 1_000_000, "map: number of integers")
	chunk := flag.Int("chunk", 10_000, "map: chunk size (0: static blocks)")
	tasks := flag.Int("tasks", 100_000, "tasks: number of tasks")
	inFlight := flag.Int("inflight", 1024, "tasks, latency: tasks in flight per worker")
	batches := flag.Bool("batches", true, "tasks, latency: workers run each message's tasks as one batch (ExecutorConfig.Batches)")
	rows := flag.Int("rows", 10_000_000, "groupby: rows in all")
	skew := flag.Float64("skew", 0.3, "groupby: fraction of the rows in the hot year 1996")
	reps := flag.Int("reps", 1, "repetitions (latency: round trips)")
	profile := flag.String("cpuprofile", "", "write a CPU profile of each rank to this path with the rank appended")
	tracePath := flag.String("trace", "", "write an execution trace of each rank to this path with the rank appended")
	usage := flag.Bool("rusage", false, "print each rank's CPU time and context switches to standard error at the end")
	flag.Parse()
	if *profile != "" {
		f, err := os.Create(*profile + "." + os.Getenv("GORUN_RANK"))
		if err == nil {
			pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}

	if *tracePath != "" {
		f, err := os.Create(*tracePath + "." + os.Getenv("GORUN_RANK"))
		if err == nil {
			trace.Start(f)
			defer trace.Stop()
		}
	}
	c, err := comm.Init()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx := context.Background()
	switch *workload {
	case "map":
		err = benchMap(ctx, c, *n, *chunk, *reps)
	case "tasks", "latency":
		err = benchTasks(ctx, c, *workload, *tasks, parallel.ExecutorConfig{InFlight: *inFlight, Batches: *batches}, *reps)
	case "groupby":
		err = benchGroupBy(ctx, c, *rows, *skew, *reps)
	default:
		err = fmt.Errorf("unknown workload %q", *workload)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "rank %d: %v\n", c.Rank(), err)
		os.Exit(1)
	}
	if *usage {
		var ru syscall.Rusage
		if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
			fmt.Fprintf(os.Stderr, "RUSAGE rank=%d user=%.3fs sys=%.3fs voluntary=%d involuntary=%d\n", c.Rank(),
				time.Duration(ru.Utime.Nano()).Seconds(), time.Duration(ru.Stime.Nano()).Seconds(), ru.Nvcsw, ru.Nivcsw)
		}
	}
	if err := c.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pprof.StopCPUProfile()
	trace.Stop()
}

func report(c *comm.Comm, workload string, seconds float64, items int, extra string) {
	if c.Rank() == 0 {
		fmt.Printf("RESULT workload=%s np=%d seconds=%.6g items=%d rate=%.4g%s\n", workload, c.Size(), seconds, items, float64(items)/seconds, extra)
	}
}

func benchMap(ctx context.Context, c *comm.Comm, n, chunk, reps int) error {
	var xs []int64
	if c.Rank() == 0 {
		xs = make([]int64, n)
		for i := range xs {
			xs[i] = int64(i)
		}
	}
	f := func(x int64) (int64, error) { return x*x + 2*x + 1, nil }
	// One untimed round first, as the peers warm up their pools.
	for rep := range reps + 1 {
		if err := collectives.Barrier(ctx, c); err != nil {
			return err
		}
		t := time.Now()
		ys, err := parallel.Map(ctx, c, xs, f, parallel.Chunk(chunk))
		if err != nil {
			return err
		}
		el := time.Since(t).Seconds()
		if c.Rank() == 0 {
			for i, y := range ys {
				if y != int64(i+1)*int64(i+1) {
					return fmt.Errorf("map: ys[%d] = %d", i, y)
				}
			}
		}
		if rep > 0 {
			report(c, "map", el, n, "")
		}
	}
	return nil
}

func benchTasks(ctx context.Context, c *comm.Comm, workload string, tasks int, cfg parallel.ExecutorConfig, reps int) error {
	reg := parallel.NewRegistry()
	tiny := parallel.Register(reg, "tiny", func(_ context.Context, x int) (int, error) { return x*x + 1, nil })
	ex, err := parallel.NewExecutor(ctx, c, reg, cfg)
	if err != nil {
		return err
	}
	if ex.IsClient() {
		if err := clientTasks(ctx, c, ex, tiny, workload, tasks, reps); err != nil {
			ex.Shutdown(ctx, parallel.Cancel)
			return err
		}
	}
	return ex.Shutdown(ctx, parallel.Drain)
}

func clientTasks(ctx context.Context, c *comm.Comm, ex *parallel.Executor, tiny parallel.Func[int, int], workload string, tasks, reps int) error {
	if workload == "latency" {
		// Warm up, then time reps single round trips.
		times := make([]float64, 0, reps)
		for i := range reps + 100 {
			t := time.Now()
			f, err := parallel.Submit(ctx, ex, tiny, i)
			if err != nil {
				return err
			}
			v, err := f.Wait(ctx)
			if err != nil {
				return err
			}
			if v != i*i+1 {
				return fmt.Errorf("latency: task %d gave %d", i, v)
			}
			if i >= 100 {
				times = append(times, time.Since(t).Seconds())
			}
		}
		slices.Sort(times)
		med := times[len(times)/2]
		fmt.Printf("RESULT workload=latency np=%d seconds=%.6g items=1 rate=%.4g p99=%.6g\n", c.Size(), med, 1/med, times[len(times)*99/100])
		return nil
	}
	args := make([]int, tasks)
	for i := range args {
		args[i] = i
	}
	// One untimed round first, as the peers warm up their pools.
	for rep := range reps + 1 {
		t := time.Now()
		out, err := parallel.MapTasks(ctx, ex, tiny, args)
		if err != nil {
			return err
		}
		el := time.Since(t).Seconds()
		for i, v := range out {
			if v != i*i+1 {
				return fmt.Errorf("tasks: task %d gave %d", i, v)
			}
		}
		if rep > 0 {
			report(c, "tasks", el, tasks, "")
		}
	}
	return nil
}

// The table: row i (of rows, numbered across the ranks) has
// h = splitmix64(i), year 1896 + 4·(h mod 31), or 1996 when bits 32..47
// of h fall below skew·65536, and age 14 + (h>>48) mod 50.
// scripts/python/peers.py generates the same table with numpy, so both
// sides group the same rows.
func splitmix64(x uint64) uint64 {
	z := x + 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// table is rank r's share of the table, as columns: rows
// [rows·r/size, rows·(r+1)/size).
func table(rank, size, rows int, skew float64) (years, ages []int32) {
	lo, hi := rows*rank/size, rows*(rank+1)/size
	years, ages = make([]int32, hi-lo), make([]int32, hi-lo)
	hot := uint64(skew * 65536)
	for i := range years {
		h := splitmix64(uint64(lo + i))
		years[i] = int32(1896 + 4*(h%31))
		if (h>>32)&0xffff < hot {
			years[i] = 1996
		}
		ages[i] = int32(14 + (h>>48)%50)
	}
	return years, ages
}

func benchGroupBy(ctx context.Context, c *comm.Comm, rows int, skew float64, reps int) error {
	years, ages := table(c.Rank(), c.Size(), rows, skew)
	// The reference: local sums reduced with one Allreduce (years 1896..2016).
	const nyears = 31
	local := make([]float64, 2*nyears)
	for i, y := range years {
		j := (y - 1896) / 4
		local[2*j] += float64(ages[i])
		local[2*j+1]++
	}
	ref := make([]float64, 2*nyears)
	if err := collectives.Allreduce(ctx, c, ref, local, collectives.Sum[float64]()); err != nil {
		return err
	}
	// One untimed round first, as the peers warm up.
	for rep := range reps + 1 {
		if err := collectives.Barrier(ctx, c); err != nil {
			return err
		}
		t := time.Now()
		means, err := parallel.GroupByColumns(ctx, c, years, ages, parallel.Mean[int32]())
		if err != nil {
			return err
		}
		all, err := parallel.Collect(ctx, c, means, 0)
		if err != nil {
			return err
		}
		el := time.Since(t).Seconds()
		if c.Rank() == 0 {
			for y := range nyears {
				m, ok := all[int32(1896+4*y)]
				if ref[2*y+1] == 0 {
					continue
				}
				want := ref[2*y] / ref[2*y+1]
				if !ok || math.Abs(m.Value()-want) > 1e-9*want || float64(m.N) != ref[2*y+1] {
					return fmt.Errorf("groupby: year %d: %+v, want mean %v of %v", 1896+4*y, m, want, ref[2*y+1])
				}
			}
		}
		if rep > 0 {
			report(c, "groupby", el, rows, fmt.Sprintf(" mean1996=%.12g", all[1996].Value()))
		}
	}
	return nil
}
