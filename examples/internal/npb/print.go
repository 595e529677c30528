package npb

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"
)

// Version is the NPB version whose behaviour the ports reproduce.
const Version = "3.4 (gorun port)"

// Results is what a benchmark reports in NPB's closing banner.
type Results struct {
	Name       string // "EP", "CG", ...
	Class      byte
	N1, N2, N3 int // problem size; N2 = N3 = 0 for a one-dimensional size
	Niter      int // iterations (0 for EP)
	Time       float64
	Procs      int // total processes
	Mops       float64
	OpType     string
	Verified   bool
	Extra      [][2]string // additional "name = value" lines, printed after Size
}

// Print writes the banner in the layout of NPB's print_results.
func (r *Results) Print(w io.Writer) {
	line := func(k, v string) { fmt.Fprintf(w, " %-15s = %24s\n", k, v) }
	fmt.Fprintf(w, "\n\n %s Benchmark Completed.\n", r.Name)
	line("Class", string(r.Class))
	if r.N2 == 0 && r.N3 == 0 {
		line("Size", fmt.Sprint(r.N1))
	} else {
		line("Size", fmt.Sprintf("%4dx%4dx%4d", r.N1, r.N2, r.N3))
	}
	for _, e := range r.Extra {
		line(e[0], e[1])
	}
	line("Iterations", fmt.Sprint(r.Niter))
	line("Time in seconds", fmt.Sprintf("%.4f", r.Time))
	line("Total processes", fmt.Sprint(r.Procs))
	line("Mop/s total", fmt.Sprintf("%.2f", r.Mops))
	if r.Procs > 0 {
		line("Mop/s/process", fmt.Sprintf("%.2f", r.Mops/float64(r.Procs)))
	}
	line("Operation type", r.OpType)
	if r.Verified {
		line("Verification", "SUCCESSFUL")
	} else {
		line("Verification", "UNSUCCESSFUL")
	}
	line("Version", Version)
	line("Compiler", runtime.Version())
	line("Run date", time.Now().Format("02 Jan 2006"))
	fmt.Fprintln(w)
	fmt.Fprintln(w, " Go port of the NAS Parallel Benchmarks "+strings.TrimSpace(Version))
	fmt.Fprintln(w)
}

// ParseClass checks a -class flag value against the classes a benchmark
// supports and returns its letter.
func ParseClass(s, supported string) (byte, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if len(s) != 1 || !strings.Contains(supported, s) {
		return 0, fmt.Errorf("unknown class %q (supported: %s)", s, strings.Join(strings.Split(supported, ""), ", "))
	}
	return s[0], nil
}
