// Command scaling runs the examples pi, heat2d, nbody and ddp under gorun at
// several rank counts and prints strong-scaling (fixed problem) and
// weak-scaling (fixed work per rank) tables with speedup and efficiency, and
// writes the times to <out>/scaling.csv (columns mode, example, np, seconds,
// ncpu) for the plotting tool, bench/plot.
//
//	go run ./bench/scaling                      (from the repository root)
//	go run ./bench/scaling -np 1,2,4 -examples heat2d,nbody -reps 3
//	go -C bench/plot run . scaling -in $PWD/bench/scaling/out/scaling.csv -out $PWD/bench/scaling/out
//
// Times are the examples' own "elapsed" lines (rank 0, from a barrier before
// the computation to its end; start-up of the job is excluded), the best of
// -reps runs. Every run must print "VERDICT PASS" or the benchmark fails.
//
// Strong scaling: speedup S(p) = T(1)/T(p), efficiency S(p)/p.
// Weak scaling: the problem grows with p so that the work per rank stays
// fixed; efficiency T(1)/T(p).
//
// Rank counts above the number of CPUs are oversubscribed: the ranks share
// cores, so no speedup can be expected there; the tables mark those rows.
package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// config is how one example is run at p ranks.
type config func(p int) []string

type example struct {
	name         string
	strong, weak config
	strongDesc   string
	weakDesc     string
}

func isqrt(x float64) int { return int(math.Round(math.Sqrt(x))) }

var examples = []example{
	{
		name:       "pi",
		strong:     func(p int) []string { return []string{"-n", "120000000"} },
		weak:       func(p int) []string { return []string{"-n", fmt.Sprint(40_000_000 * p)} },
		strongDesc: "1.2e8 darts",
		weakDesc:   "4e7 darts per rank",
	},
	{
		name: "heat2d",
		strong: func(p int) []string {
			return []string{"-n", "512", "-tol", "0", "-max-steps", "1200", "-check-every", "50", "-png", ""}
		},
		weak: func(p int) []string {
			return []string{"-n", fmt.Sprint(isqrt(float64(362 * 362 * p))), "-tol", "0", "-max-steps", "1200", "-check-every", "50", "-png", ""}
		},
		strongDesc: "512² points, 1200 steps",
		weakDesc:   "362² points per rank, 1200 steps",
	},
	{
		name:   "nbody",
		strong: func(p int) []string { return []string{"-n", "1536", "-steps", "80"} },
		weak: func(p int) []string {
			return []string{"-n", fmt.Sprint(isqrt(float64(1024 * 1024 * p))), "-steps", "60"}
		},
		strongDesc: "1536 bodies, 80 steps",
		weakDesc:   "N²/p = 1024² pair interactions per rank per step, 60 steps",
	},
	{
		name: "ddp",
		strong: func(p int) []string {
			return []string{"-m", "65536", "-batch", "1024", "-hidden", "64", "-epochs", "5", "-check-serial=false", "-target-loss", "0.5"}
		},
		weak: func(p int) []string {
			return []string{"-m", fmt.Sprint(32768 * p), "-batch", fmt.Sprint(512 * p), "-hidden", "64", "-epochs", "5", "-check-serial=false", "-target-loss", "0.5"}
		},
		strongDesc: "MLP 8-64-1, 65536 samples, batch 1024, 5 epochs",
		weakDesc:   "32768 samples and batch 512 per rank, 5 epochs",
	},
}

var elapsedRE = regexp.MustCompile(`(?m)^elapsed ([0-9.]+) s`)

func main() {
	npList := flag.String("np", "1,2,4,8", "rank counts (the first is the baseline)")
	only := flag.String("examples", "pi,heat2d,nbody,ddp", "examples to run")
	reps := flag.Int("reps", 1, "runs per point; the best time counts")
	outDir := flag.String("out", "bench/scaling/out", "directory of scaling.csv")
	timeout := flag.Duration("timeout", 5*time.Minute, "limit of one run")
	gorunArgs := flag.String("gorun-args", "", "extra gorun flags, space-separated (e.g. \"--bind-to none\")")
	flag.Parse()

	var nps []int
	for _, f := range strings.Split(*npList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fatal(fmt.Errorf("bad -np %q", *npList))
		}
		nps = append(nps, n)
	}
	want := map[string]bool{}
	for _, e := range strings.Split(*only, ",") {
		want[strings.TrimSpace(e)] = true
	}
	root, err := moduleRoot()
	if err != nil {
		fatal(err)
	}
	tmp, err := os.MkdirTemp("", "gorun-scaling-")
	if err != nil {
		fatal(err)
	}
	defer os.RemoveAll(tmp)
	gorun := filepath.Join(tmp, "gorun")
	if err := build(root, gorun, "./cmd/gorun"); err != nil {
		fatal(err)
	}

	ncpu := runtime.NumCPU()
	fmt.Printf("gorun scaling benchmark: %d CPUs on this host (%s/%s); rank counts %v, best of %d; gorun flags %q\n",
		ncpu, runtime.GOOS, runtime.GOARCH, nps, *reps, *gorunArgs)
	if nps[len(nps)-1] > ncpu {
		fmt.Printf("NOTE: rows marked * run more ranks than the %d CPUs (oversubscribed): the ranks time-share the cores,\n"+
			"      so speedup cannot exceed %d there and efficiency falls accordingly.\n", ncpu, ncpu)
	}
	if l, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Printf("load average before the runs: %s", l)
	}

	var strongSeries, weakSeries []series
	for _, ex := range examples {
		if !want[ex.name] {
			continue
		}
		bin := filepath.Join(tmp, ex.name)
		if err := build(root, bin, "./examples/"+ex.name); err != nil {
			fatal(err)
		}
		for _, mode := range []struct {
			name string
			cfg  config
			desc string
			out  *[]series
		}{{"strong", ex.strong, ex.strongDesc, &strongSeries}, {"weak", ex.weak, ex.weakDesc, &weakSeries}} {
			s := series{name: ex.name}
			for _, np := range nps {
				t, err := measure(gorun, strings.Fields(*gorunArgs), bin, np, mode.cfg(np), *reps, *timeout)
				if err != nil {
					fatal(fmt.Errorf("%s %s np %d: %w", ex.name, mode.name, np, err))
				}
				s.np, s.t = append(s.np, np), append(s.t, t)
			}
			printTable(ex.name, mode.name, mode.desc, s, ncpu)
			*mode.out = append(*mode.out, s)
		}
	}
	if len(strongSeries) == 0 {
		return
	}
	dir := *outDir
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(root, dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fatal(err)
	}
	csvPath := filepath.Join(dir, "scaling.csv")
	if err := writeCSV(csvPath, strongSeries, weakSeries, ncpu); err != nil {
		fatal(err)
	}
	fmt.Printf("times: %s\n", csvPath)
}

// writeCSV writes every measured time, one row per (mode, example, np).
func writeCSV(path string, strong, weak []series, ncpu int) error {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write([]string{"mode", "example", "np", "seconds", "ncpu"})
	for _, m := range []struct {
		name string
		ss   []series
	}{{"strong", strong}, {"weak", weak}} {
		for _, s := range m.ss {
			for i, np := range s.np {
				w.Write([]string{m.name, s.name, strconv.Itoa(np), strconv.FormatFloat(s.t[i], 'g', 6, 64), strconv.Itoa(ncpu)})
			}
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

type series struct {
	name string
	np   []int
	t    []float64
}

func printTable(name, mode, desc string, s series, ncpu int) {
	fmt.Printf("\n%s, %s scaling (%s)\n", name, mode, desc)
	if mode == "strong" {
		fmt.Printf("  %4s  %10s  %8s  %10s\n", "np", "time [s]", "speedup", "efficiency")
	} else {
		fmt.Printf("  %4s  %10s  %10s\n", "np", "time [s]", "efficiency")
	}
	t1 := s.t[0] * float64(s.np[0])
	for i, np := range s.np {
		mark := " "
		if np > ncpu {
			mark = "*"
		}
		if mode == "strong" {
			sp := t1 / s.t[i]
			fmt.Printf("  %3d%s  %10.4f  %8.2f  %9.0f%%\n", np, mark, s.t[i], sp, 100*sp/float64(np))
		} else {
			fmt.Printf("  %3d%s  %10.4f  %9.0f%%\n", np, mark, s.t[i], 100*s.t[0]/s.t[i])
		}
	}
}

// measure runs the example reps times and returns its best elapsed time.
func measure(gorun string, gorunArgs []string, bin string, np int, args []string, reps int, limit time.Duration) (float64, error) {
	best := math.Inf(1)
	for range reps {
		ctx, cancel := context.WithTimeout(context.Background(), limit)
		argv := append(append(append([]string{}, gorunArgs...), "-np", fmt.Sprint(np), bin), args...)
		cmd := exec.CommandContext(ctx, gorun, argv...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
		err := cmd.Run()
		timedOut := ctx.Err() != nil
		cancel()
		if timedOut {
			return 0, fmt.Errorf("timed out after %v:\n%s", limit, out.String())
		}
		if err != nil || !strings.Contains(out.String(), "VERDICT PASS") {
			return 0, fmt.Errorf("%v:\n%s", err, out.String())
		}
		m := elapsedRE.FindStringSubmatch(out.String())
		if m == nil {
			return 0, errors.New("no elapsed line:\n" + out.String())
		}
		t, _ := strconv.ParseFloat(m[1], 64)
		best = min(best, t)
	}
	return best, nil
}

func build(root, out, pkg string) error {
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building %s: %v\n%s", pkg, err, b)
	}
	return nil
}

func moduleRoot() (string, error) {
	b, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	gomod := strings.TrimSpace(string(b))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("run from inside the gorun module")
	}
	return filepath.Dir(gomod), nil
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "scaling:", err)
	os.Exit(1)
}
