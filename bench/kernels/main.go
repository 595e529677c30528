package main

import (
	_ "embed"
	"encoding/csv"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"

	"github.com/gorun-hpc/gorun/kernels"
	"github.com/gorun-hpc/gorun/kernels/affinity"
)

//go:embed cref/stream_triad.c
var streamC []byte

var (
	flagN     = flag.Int("n", 20_000_000, "triad array length (elements; three arrays of 8-byte floats)")
	flagReps  = flag.Int("reps", 10, "triad repetitions per run (best is kept)")
	flagRuns  = flag.Int("runs", 5, "runs per configuration (median is reported)")
	flagGemm  = flag.Int("gemm", 1024, "GEMM matrix order (0 skips GEMM)")
	flagOut   = flag.String("out", ".", "directory for kernels.csv, the figures for bench/plot (empty: none)")
	flagNoC   = flag.Bool("noc", false, "skip the C STREAM reference")
	flagMaxW  = flag.Int("workers", 0, "largest worker count (0: number of allowed CPUs)")
	flagTriad = flag.Bool("triad", true, "run the triad benchmark")
)

type point struct {
	workers int
	pinned  bool
	value   float64
}

func main() {
	flag.Parse()
	cpus, err := affinity.Current()
	if !affinity.Supported {
		// No affinity here (macOS, FreeBSD): every CPU, unpinned.
		cpus, err = make(affinity.CPUSet, runtime.NumCPU()), nil
		for i := range cpus {
			cpus[i] = i
		}
	}
	if err != nil {
		fatal(err)
	}
	maxW := cpus.Len()
	if *flagMaxW > 0 {
		maxW = *flagMaxW
	}
	fmt.Printf("gorun kernels benchmark: %s/%s, %d allowed CPUs (%s), GOMAXPROCS %d, %s\n",
		runtime.GOOS, runtime.GOARCH, cpus.Len(), cpus, runtime.GOMAXPROCS(0), runtime.Version())

	var triad []point
	cRate := 0.0
	if *flagTriad {
		triad = benchTriad(maxW)
		printTable("Triad a = b + q·c", "GB/s", triad, maxW)
		if !*flagNoC {
			cRate, err = runCStream(*flagN, *flagReps, *flagRuns, cpus.Len())
			if err != nil {
				fmt.Printf("C STREAM reference: skipped (%v)\n", err)
			} else {
				best := valueAt(triad, cpus.Len(), true)
				fmt.Printf("C STREAM triad (gcc -O3 -fopenmp -march=native, %d threads): %.2f GB/s\n", cpus.Len(), cRate)
				fmt.Printf("Go pinned triad with %d workers / C: %.2f GB/s / %.2f GB/s = %.1f%% (goal ≥ 90%%)\n",
					cpus.Len(), best, cRate, 100*best/cRate)
			}
		}
		fmt.Println()
	}
	var gemm []point
	base := 0.0
	if *flagGemm > 0 {
		base, gemm = benchGemm(*flagGemm, maxW)
		printTable(fmt.Sprintf("GEMM %d×%d×%d", *flagGemm, *flagGemm, *flagGemm), "GFLOP/s", gemm, maxW)
		fmt.Printf("gonum blas64.Gemm single-threaded (GOMAXPROCS=1): %.2f GFLOP/s\n", base)
		best := valueAt(gemm, cpus.Len(), true)
		fmt.Printf("kernels.Gemm pinned with %d workers / gonum single-threaded: %.2f / %.2f = %.2f× (goal ≥ 1.8×)\n",
			cpus.Len(), best, base, best/base)
	}
	if *flagOut != "" {
		if err := os.MkdirAll(*flagOut, 0o755); err != nil {
			fatal(err)
		}
		path := filepath.Join(*flagOut, "kernels.csv")
		if err := writeCSV(path, triad, cRate, gemm, base); err != nil {
			fatal(err)
		}
		fmt.Printf("figures written to %s (plot: go -C bench/plot run . kernels -in %s)\n", path, path)
	}
}

// writeCSV writes the measured points for bench/plot: one row per (bench,
// series, workers); a reference (C STREAM, gonum single-threaded) is a row
// with workers 0.
func writeCSV(path string, triad []point, cRate float64, gemm []point, base float64) error {
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Write([]string{"bench", "title", "unit", "series", "workers", "value"})
	add := func(bench, title, unit string, ps []point, ref float64, refName string) {
		for _, p := range ps {
			s := "pinned"
			if !p.pinned {
				s = "unpinned"
			}
			w.Write([]string{bench, title, unit, s, strconv.Itoa(p.workers), strconv.FormatFloat(p.value, 'f', 3, 64)})
		}
		if ref > 0 {
			w.Write([]string{bench, title, unit, refName, "0", strconv.FormatFloat(ref, 'f', 3, 64)})
		}
	}
	if triad != nil {
		add("triad", "STREAM triad bandwidth", "GB/s", triad, cRate, "C STREAM (OpenMP)")
	}
	if gemm != nil {
		add("gemm", fmt.Sprintf("GEMM n=%d", *flagGemm), "GFLOP/s", gemm, base, "gonum single-threaded")
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "kernels bench:", err)
	os.Exit(1)
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func benchTriad(maxW int) []point {
	n := *flagN
	var out []point
	for _, pinned := range []bool{true, false} {
		for w := 1; w <= maxW; w++ {
			p, err := kernels.NewPool(kernels.Config{Workers: w, NoPin: !pinned})
			if err != nil {
				fatal(err)
			}
			a := kernels.MakeLocal[float64](p, n)
			b := kernels.MakeLocal[float64](p, n)
			c := kernels.MakeLocal[float64](p, n)
			p.ParallelFor(n, kernels.Schedule{}, func(lo, hi, _ int) {
				for i := lo; i < hi; i++ {
					b[i], c[i] = 1, 2
				}
			})
			var rates []float64
			for range *flagRuns {
				best := time.Duration(1 << 62)
				for range *flagReps {
					t0 := time.Now()
					kernels.Triad(p, a, b, c, 3)
					best = min(best, time.Since(t0))
				}
				rates = append(rates, 24*float64(n)/best.Seconds()/1e9)
			}
			p.Close()
			if a[n-1] != 7 {
				fatal(fmt.Errorf("triad result %v, want 7", a[n-1]))
			}
			out = append(out, point{w, pinned, median(rates)})
			a, b, c = nil, nil, nil
			runtime.GC()
		}
	}
	return out
}

func randGeneral(n int, rng *rand.Rand) blas64.General {
	g := blas64.General{Rows: n, Cols: n, Stride: n, Data: make([]float64, n*n)}
	for i := range g.Data {
		g.Data[i] = rng.Float64()
	}
	return g
}

func benchGemm(n, maxW int) (float64, []point) {
	rng := rand.New(rand.NewPCG(1, 2))
	a, b, c := randGeneral(n, rng), randGeneral(n, rng), randGeneral(n, rng)
	flops := 2 * float64(n) * float64(n) * float64(n)
	timeIt := func(f func()) float64 {
		f() // warm up
		var r []float64
		for range *flagRuns {
			t0 := time.Now()
			f()
			r = append(r, flops/time.Since(t0).Seconds()/1e9)
		}
		return median(r)
	}
	prev := runtime.GOMAXPROCS(1)
	base := timeIt(func() { blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, a, b, 0, c) })
	runtime.GOMAXPROCS(prev)
	var out []point
	for _, pinned := range []bool{true, false} {
		for w := 1; w <= maxW; w++ {
			p, err := kernels.NewPool(kernels.Config{Workers: w, NoPin: !pinned})
			if err != nil {
				fatal(err)
			}
			g := timeIt(func() { kernels.Gemm(p, blas.NoTrans, blas.NoTrans, 1, a, b, 0, c) })
			p.Close()
			out = append(out, point{w, pinned, g})
		}
	}
	return base, out
}

func valueAt(ps []point, w int, pinned bool) float64 {
	for _, p := range ps {
		if p.workers == w && p.pinned == pinned {
			return p.value
		}
	}
	return 0
}

func printTable(title, unit string, ps []point, maxW int) {
	fmt.Printf("%s — median of %d runs\n", title, *flagRuns)
	fmt.Printf("%8s | %10s %8s %6s | %10s %8s %6s\n", "workers", "pinned", "speedup", "eff", "unpinned", "speedup", "eff")
	fmt.Printf("%8s | %10s %8s %6s | %10s %8s %6s\n", "", unit, "", "", unit, "", "")
	for w := 1; w <= maxW; w++ {
		var cols []string
		for _, pinned := range []bool{true, false} {
			v, v1 := valueAt(ps, w, pinned), valueAt(ps, 1, pinned)
			s := v / v1
			cols = append(cols, fmt.Sprintf("%10.2f %7.2f× %5.0f%%", v, s, 100*s/float64(w)))
		}
		fmt.Printf("%8d | %s | %s\n", w, cols[0], cols[1])
	}
}

// runCStream builds stream_triad.c with gcc and returns the median GB/s of
// runs executions on threads OpenMP threads bound to cores.
func runCStream(n, reps, runs, threads int) (float64, error) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		return 0, err
	}
	dir, err := os.MkdirTemp("", "gorun-stream-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	src := filepath.Join(dir, "stream_triad.c")
	bin := filepath.Join(dir, "stream_triad")
	if err := os.WriteFile(src, streamC, 0o644); err != nil {
		return 0, err
	}
	if out, err := exec.Command(gcc, "-O3", "-fopenmp", "-march=native", "-o", bin, src).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("gcc: %v: %s", err, out)
	}
	var rates []float64
	for range runs {
		cmd := exec.Command(bin, strconv.Itoa(n), strconv.Itoa(reps))
		cmd.Env = append(os.Environ(), "OMP_NUM_THREADS="+strconv.Itoa(threads), "OMP_PROC_BIND=close", "OMP_PLACES=cores")
		out, err := cmd.Output()
		if err != nil {
			return 0, fmt.Errorf("stream_triad: %v", err)
		}
		f := strings.Fields(string(out))
		if len(f) < 2 || f[0] != "triad_gbps" {
			return 0, fmt.Errorf("stream_triad: unexpected output %q", out)
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			return 0, err
		}
		rates = append(rates, v)
	}
	return median(rates), nil
}
