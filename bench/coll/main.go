// Command coll measures the latency of every collective of package
// collectives, OSU-style: for each message size, a warm-up, then a number
// of timed iterations that every rank agrees on, reporting the average
// latency per call in microseconds, the maximum over ranks. Each table has
// one column for the selector's choice ("auto") and one per algorithm,
// forced. The timed calls run back to back (a rate); with -osu each is
// timed alone with a Barrier after it, as OSU's tests do (one call's
// latency). -timeline adds, on one host, when each rank entered and left
// the calls by the clock the processes share, and when the last rank left
// (scripts/compare-openmpi-timeline.sh compares that with Open MPI).
//
//	go run ./cmd/gorun -np 4 ./bench/coll                      # everything
//	go run ./cmd/gorun -np 8 ./bench/coll -coll allreduce,bcast -max 1M
//	go run ./bench/coll -coll bcast                            # np 1
//
// The size is the message of one rank: the buffer of Bcast, Reduce,
// Allreduce, Scan; one block (per rank or per pair) of Gather, Scatter,
// Allgather, Alltoall and their v-variants, and of ReduceScatter's result.
// Elements are float32 (4 bytes); reductions use Sum.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "unsafe" // for go:linkname

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
)

type elem = float32

func main() {
	colls := flag.String("coll", "all", "comma-separated collectives (see -list), or all")
	algs := flag.String("alg", "all", "columns: all (auto + every algorithm), auto, or comma-separated algorithm names")
	minSize := flag.String("min", "4", "smallest message size in bytes (K, M suffixes)")
	maxSize := flag.String("max", "4M", "largest message size in bytes")
	sizeList := flag.String("sizes", "", "comma-separated message sizes in bytes (K, M suffixes), instead of -min/-max")
	budget := flag.Duration("budget", 30*time.Millisecond, "target timed duration per point")
	maxIters := flag.Int("iters", 1000, "most timed iterations per point")
	minIters := flag.Int("min-iters", 3, "fewest timed iterations per point")
	seg := flag.String("seg", "", "segment size in bytes for the segmented algorithms (default: the package's)")
	list := flag.Bool("list", false, "list collectives and algorithms, and exit")
	warmup := flag.Duration("warmup", 100*time.Millisecond, "untimed 8-byte Allreduce calls before the first point, for this long")
	osu := flag.Bool("osu", false, "OSU's method: time each call on its own, with an untimed Barrier after it, and report the average over ranks (one call's latency, not the rate of back-to-back calls)")
	timeline := flag.Bool("timeline", false, "with -osu, also print when each rank entered and left the call, relative to rank 0's entry, and when the last rank left (medians over calls, to standard error; one host only: the ranks share CLOCK_MONOTONIC)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the measurements to this file (suffixed with .rank)")
	flag.Parse()
	if *list {
		for _, c := range collectives.Collectives() {
			fmt.Printf("%-14s %s\n", c, strings.Join(collectives.Algorithms(c), " "))
		}
		return
	}
	lo, err1 := parseSize(*minSize)
	hi, err2 := parseSize(*maxSize)
	if err1 != nil || err2 != nil || lo < 4 || hi < lo {
		log.Fatalf("bad -min/-max: %v %v", err1, err2)
	}
	var sizes []int
	for size := lo; size <= hi; size *= 2 {
		sizes = append(sizes, size)
	}
	if *sizeList != "" {
		sizes = nil
		for _, f := range strings.Split(*sizeList, ",") {
			n, err := parseSize(f)
			if err != nil || n < 4 {
				log.Fatalf("bad -sizes entry %q", f)
			}
			sizes = append(sizes, n)
		}
	}
	world, err := comm.Init()
	if err != nil {
		log.Fatal(err)
	}
	defer world.Close()
	if *timeline && !*osu {
		fmt.Fprintln(os.Stderr, "bench/coll: -timeline needs -osu")
		os.Exit(2)
	}
	if *timeline && world.Size() > 1 && os.Getenv("GORUN_LOCAL_SIZE") != strconv.Itoa(world.Size()) {
		// Usage error, on every rank alike.
		fmt.Fprintln(os.Stderr, "bench/coll: -timeline needs every rank on one host (their CLOCK_MONOTONIC is compared)")
		os.Exit(2)
	}
	if *cpuprofile != "" {
		f, err := os.Create(fmt.Sprintf("%s.%d", *cpuprofile, world.Rank()))
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	names := collectives.Collectives()
	if *colls != "all" {
		names = strings.Split(*colls, ",")
	}
	b := &bench{c: world, budget: *budget, minIters: *minIters, maxIters: *maxIters, osu: *osu, timeline: *timeline}
	if *seg != "" {
		n, err := parseSize(*seg)
		if err != nil {
			log.Fatal(err)
		}
		b.common = append(b.common, collectives.WithSegmentSize(n))
	}
	ctx := context.Background()
	// A rank's first milliseconds run slower (at np 2, 8-byte Allreduce
	// measured 8.6-9.1 µs as the first point even after 200 warm-up calls,
	// 5.2-5.3 µs after); bench/coll/ompi/osu_coll.c warms up the same way.
	if err := warmUp(ctx, world, *warmup); err != nil {
		log.Fatal(err)
	}
	if world.Rank() == 0 {
		how := "max over ranks"
		if *osu {
			how = "OSU method: average over ranks"
		}
		fmt.Printf("# gorun collectives latency, np %d, float32 elements, average µs per call (%s)\n", world.Size(), how)
	}
	for _, name := range names {
		if collectives.Algorithms(name) == nil {
			log.Fatalf("unknown collective %q (try -list)", name)
		}
		cols := []string{"auto"}
		switch *algs {
		case "all":
			cols = append(cols, collectives.Algorithms(name)...)
		case "auto":
		default:
			cols = nil
			for _, a := range strings.Split(*algs, ",") {
				if a == "auto" || slices.Contains(collectives.Algorithms(name), a) {
					cols = append(cols, a)
				}
			}
		}
		if len(cols) == 0 {
			continue
		}
		if err := b.table(ctx, name, cols, sizes); err != nil {
			log.Fatalf("rank %d: %s: %v", world.Rank(), name, err)
		}
	}
}

func parseSize(s string) (int, error) {
	mult := 1
	switch {
	case strings.HasSuffix(s, "K"):
		mult, s = 1<<10, strings.TrimSuffix(s, "K")
	case strings.HasSuffix(s, "M"):
		mult, s = 1<<20, strings.TrimSuffix(s, "M")
	}
	n, err := strconv.Atoi(s)
	return n * mult, err
}

type bench struct {
	c                  *comm.Comm
	budget             time.Duration
	minIters, maxIters int
	osu                bool // see -osu
	timeline           bool // see -timeline
	common             []collectives.Option
}

func (b *bench) table(ctx context.Context, name string, cols []string, sizes []int) error {
	p, r := b.c.Size(), b.c.Rank()
	if r == 0 {
		what := ""
		if b.osu {
			what = ", OSU method: each call timed alone, Barrier between, average over ranks"
		}
		fmt.Printf("\n## %s (np %d%s)\n%10s", name, p, what, "bytes")
		for _, c := range cols {
			fmt.Printf(" %18s", c)
		}
		fmt.Println()
	}
	for k, size := range sizes {
		if name == "barrier" && k > 0 {
			break
		}
		row := make([]float64, len(cols))
		for i, col := range cols {
			opts := slices.Clone(b.common)
			if col != "auto" {
				opts = append(opts, collectives.WithAlgorithm(col))
			}
			run := b.op(name, size/4, opts)
			us, err := b.measure(ctx, run, name, size)
			if err != nil {
				return fmt.Errorf("%s size %d: %w", col, size, err)
			}
			row[i] = us
		}
		if r == 0 {
			label := strconv.Itoa(size)
			if name == "barrier" {
				label = "-"
			}
			fmt.Printf("%10s", label)
			for _, v := range row {
				fmt.Printf(" %18.2f", v)
			}
			fmt.Println()
		}
	}
	return nil
}

// warmUp calls an 8-byte Allreduce (of the elapsed time, so that every
// rank stops after the same call) until d has passed on the slowest rank.
func warmUp(ctx context.Context, c *comm.Comm, d time.Duration) error {
	t0 := time.Now()
	x := []float64{0}
	for {
		x[0] = time.Since(t0).Seconds()
		if err := collectives.Allreduce(ctx, c, x, nil, collectives.Max[float64](), collectives.InPlace()); err != nil {
			return err
		}
		if x[0] >= d.Seconds() {
			return nil
		}
	}
}

// measure runs a warm-up, agrees on an iteration count from the slowest
// rank's warm-up, and returns the slowest rank's average time per call.
func (b *bench) measure(ctx context.Context, run func(context.Context) error, name string, size int) (float64, error) {
	// OSU's skip counts: 200 warm-up calls up to 8 KiB, 10 above. (With
	// 10, a Go rank's first point at np 2 measured 6-8 µs where the
	// following ones measured 5: its first milliseconds run slower.)
	warm := 200
	if size > 8<<10 {
		warm = 10
	}
	if err := collectives.Barrier(ctx, b.c); err != nil {
		return 0, err
	}
	t0 := time.Now()
	for range warm {
		if err := run(ctx); err != nil {
			return 0, err
		}
	}
	per := []float64{time.Since(t0).Seconds() / float64(warm)}
	if err := collectives.Allreduce(ctx, b.c, per, nil, collectives.Max[float64](), collectives.InPlace()); err != nil {
		return 0, err
	}
	iters := b.maxIters
	if per[0] > 0 {
		iters = min(b.maxIters, max(b.minIters, int(b.budget.Seconds()/per[0])))
	}
	if b.osu {
		return b.timedOSU(ctx, run, iters, name, size)
	}
	return b.timed(ctx, run, iters)
}

// timedOSU times iters calls of run one by one, with an untimed Barrier
// after each (as OSU's collective latency tests do), and returns the
// average over ranks of each rank's mean µs per call.
func (b *bench) timedOSU(ctx context.Context, run func(context.Context) error, iters int, name string, size int) (float64, error) {
	if err := collectives.Barrier(ctx, b.c); err != nil {
		return 0, err
	}
	var total time.Duration
	var stamps []float64 // entry and exit of each call, CLOCK_MONOTONIC ns
	if b.timeline {
		stamps = make([]float64, 0, 2*iters)
	}
	for range iters {
		if b.timeline {
			stamps = append(stamps, monotonic())
		}
		t0 := time.Now()
		if err := run(ctx); err != nil {
			return 0, err
		}
		total += time.Since(t0)
		if b.timeline {
			stamps = append(stamps, monotonic())
		}
		if err := collectives.Barrier(ctx, b.c); err != nil {
			return 0, err
		}
	}
	if b.timeline {
		if err := b.printTimeline(ctx, stamps, name, size); err != nil {
			return 0, err
		}
	}
	avg := []float64{total.Seconds() / float64(iters) * 1e6}
	if err := collectives.Allreduce(ctx, b.c, avg, nil, collectives.Sum[float64](), collectives.InPlace()); err != nil {
		return 0, err
	}
	return avg[0] / float64(b.c.Size()), nil
}

// monotonic reads CLOCK_MONOTONIC in ns, the clock every process of a
// host shares (time.Now's monotonic reading is private to the process).
// It is the runtime's own reading, runtime.nanotime, which goes through
// the vDSO as osu_coll.c's clock_gettime(3) does. unix.ClockGettime is a
// real system call (about 180 ns on this VM, against 23), and with it
// the entry and exit stamps charged gorun's side about 0.15 µs a call
// that Open MPI's side was not charged.
func monotonic() float64 { return float64(nanotime()) }

// nanotime is the runtime's CLOCK_MONOTONIC reading in ns.
//
//go:linkname nanotime runtime.nanotime
func nanotime() int64

// printTimeline gathers every rank's entry and exit stamps on rank 0 and
// prints to standard error, naming the collective and size, the medians
// over calls of each rank's entry and exit relative to rank 0's entry,
// then the medians of the last exit relative to rank 0's entry and to
// the last entry, and the median period of rank 0's loop (a call and the
// Barrier after it). With rank 0 as the root of a Bcast,
// "last exit after rank 0's entry" is the time until every rank had the
// data, whatever the skew the Barrier before left; OSU's average counts
// from each rank's own entry instead.
func (b *bench) printTimeline(ctx context.Context, stamps []float64, name string, size int) error {
	p := b.c.Size()
	var all []float64
	if b.c.Rank() == 0 {
		all = make([]float64, p*len(stamps))
	}
	if err := collectives.Gather(ctx, b.c, all, stamps, 0); err != nil {
		return err
	}
	if b.c.Rank() != 0 {
		return nil
	}
	n := len(stamps) / 2
	at := func(r, i, k int) float64 { return all[r*len(stamps)+2*i+k] }
	median := func(f func(i int) float64) float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = f(i)
		}
		slices.Sort(v)
		return v[n/2] / 1e3
	}
	fmt.Fprintf(os.Stderr, "timeline %s %d (µs after rank 0 entered, medians of %d calls): entered/left", name, size, n)
	for r := range p {
		fmt.Fprintf(os.Stderr, " r%d %.2f/%.2f", r,
			median(func(i int) float64 { return at(r, i, 0) - at(0, i, 0) }),
			median(func(i int) float64 { return at(r, i, 1) - at(0, i, 0) }))
	}
	last := func(i, k int) float64 {
		m := at(0, i, k)
		for r := 1; r < p; r++ {
			m = max(m, at(r, i, k))
		}
		return m
	}
	fmt.Fprintf(os.Stderr, "; last rank left %.2f after rank 0 entered, %.2f after the last rank entered",
		median(func(i int) float64 { return last(i, 1) - at(0, i, 0) }),
		median(func(i int) float64 { return last(i, 1) - last(i, 0) }))
	// Rank 0's entry into one call after its entry into the one before:
	// the call and the Barrier after it, the loop's period, which no skew
	// the Barrier leaves can shift between the two.
	cyc := 0.0
	if n > 1 {
		n-- // median now runs over the n-1 intervals between entries
		cyc = median(func(i int) float64 { return at(0, i+1, 0) - at(0, i, 0) })
	}
	fmt.Fprintf(os.Stderr, "; call and barrier %.2f\n", cyc)
	return nil
}

// timed makes iters calls of run after a Barrier and returns the slowest
// rank's average µs per call.
func (b *bench) timed(ctx context.Context, run func(context.Context) error, iters int) (float64, error) {
	if err := collectives.Barrier(ctx, b.c); err != nil {
		return 0, err
	}
	t0 := time.Now()
	for range iters {
		if err := run(ctx); err != nil {
			return 0, err
		}
	}
	avg := []float64{time.Since(t0).Seconds() / float64(iters) * 1e6}
	if err := collectives.Allreduce(ctx, b.c, avg, nil, collectives.Max[float64](), collectives.InPlace()); err != nil {
		return 0, err
	}
	return avg[0], nil
}

// op returns one call of collective name with n elements per message.
func (b *bench) op(name string, n int, opts []collectives.Option) func(context.Context) error {
	c := b.c
	p, r := c.Size(), c.Rank()
	buf := func(k int) []elem {
		s := make([]elem, k)
		for i := range s {
			s[i] = elem(r + i%7)
		}
		return s
	}
	sum := collectives.Sum[elem]()
	counts := make([]int, p)
	for i := range counts {
		counts[i] = n
	}
	switch name {
	case "barrier":
		return func(ctx context.Context) error { return collectives.Barrier(ctx, c, opts...) }
	case "bcast":
		x := buf(n)
		return func(ctx context.Context) error { return collectives.Bcast(ctx, c, x, 0, opts...) }
	case "reduce":
		src, dst := buf(n), buf(n)
		return func(ctx context.Context) error { return collectives.Reduce(ctx, c, dst, src, sum, 0, opts...) }
	case "allreduce":
		src, dst := buf(n), buf(n)
		return func(ctx context.Context) error { return collectives.Allreduce(ctx, c, dst, src, sum, opts...) }
	case "scan":
		src, dst := buf(n), buf(n)
		return func(ctx context.Context) error { return collectives.Scan(ctx, c, dst, src, sum, opts...) }
	case "exscan":
		src, dst := buf(n), buf(n)
		return func(ctx context.Context) error { return collectives.Exscan(ctx, c, dst, src, sum, opts...) }
	case "gather":
		src, dst := buf(n), buf(p*n)
		return func(ctx context.Context) error { return collectives.Gather(ctx, c, dst, src, 0, opts...) }
	case "gatherv":
		src, dst := buf(n), buf(p*n)
		return func(ctx context.Context) error { return collectives.Gatherv(ctx, c, dst, counts, nil, src, 0, opts...) }
	case "scatter":
		src, dst := buf(p*n), buf(n)
		return func(ctx context.Context) error { return collectives.Scatter(ctx, c, dst, src, 0, opts...) }
	case "scatterv":
		src, dst := buf(p*n), buf(n)
		return func(ctx context.Context) error {
			return collectives.Scatterv(ctx, c, dst, src, counts, nil, 0, opts...)
		}
	case "allgather":
		src, dst := buf(n), buf(p*n)
		return func(ctx context.Context) error { return collectives.Allgather(ctx, c, dst, src, opts...) }
	case "allgatherv":
		src, dst := buf(n), buf(p*n)
		return func(ctx context.Context) error { return collectives.Allgatherv(ctx, c, dst, counts, nil, src, opts...) }
	case "alltoall":
		src, dst := buf(p*n), buf(p*n)
		return func(ctx context.Context) error { return collectives.Alltoall(ctx, c, dst, src, opts...) }
	case "alltoallv":
		src, dst := buf(p*n), buf(p*n)
		return func(ctx context.Context) error {
			return collectives.Alltoallv(ctx, c, dst, counts, nil, src, counts, nil, opts...)
		}
	case "sparseexchange":
		// n elements to each of the next 3 ranks (fewer when p < 4).
		var dests []int
		var data [][]elem
		for k := 1; k <= min(3, p-1); k++ {
			dests, data = append(dests, (r+k)%p), append(data, buf(n))
		}
		return func(ctx context.Context) error {
			_, err := collectives.SparseExchange(ctx, c, dests, data, opts...)
			return err
		}
	case "reducescatter":
		src, dst := buf(p*n), buf(n)
		return func(ctx context.Context) error { return collectives.ReduceScatterBlock(ctx, c, dst, src, sum, opts...) }
	}
	fmt.Fprintf(os.Stderr, "no benchmark for %s\n", name)
	os.Exit(2)
	return nil
}
