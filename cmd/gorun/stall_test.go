package main_test

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	stallOnce sync.Once
	stallBin  string
	stallErr  error
)

// stallProg builds testdata/stallprog once.
func stallProg(t *testing.T) string {
	t.Helper()
	stallOnce.Do(func() {
		stallBin = filepath.Join(filepath.Dir(jobBin), "stallprog")
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if b, err := exec.CommandContext(ctx, "go", "build", "-o", stallBin, "./testdata/stallprog").CombinedOutput(); err != nil {
			stallErr = fmt.Errorf("building stallprog: %v\n%s", err, b)
		}
	})
	if stallErr != nil {
		t.Fatal(stallErr)
	}
	return stallBin
}

// TestDeadlockReport runs programs that deadlock on purpose and checks
// that gorun ends each with ExitDeadlock and a report naming the right
// ranks and calls.
func TestDeadlockReport(t *testing.T) {
	prog := stallProg(t)
	cases := []struct {
		mode string
		np   int
		want []string
	}{
		{"cycle", 2, []string{"rank 0: Recv from rank 1 tag 9", "rank 1: Recv from rank 0 tag 9",
			"wait-for cycle: rank 0 (Recv from rank 1 tag 9) → rank 1 (Recv from rank 0 tag 9) → rank 0"}},
		{"cycle", 3, []string{"rank 2: Recv from rank 0 tag 9", "wait-for cycle: rank 0 (Recv from rank 1 tag 9) → rank 1 (Recv from rank 2 tag 9) → rank 2 (Recv from rank 0 tag 9) → rank 0"}},
		{"cycle", 5, []string{"rank 4: Recv from rank 0 tag 9", "wait-for cycle: rank 0 (Recv from rank 1 tag 9) → "}},
		{"skipbarrier", 2, []string{"rank 0: Barrier #1 on world", "rank 1: Recv from rank 0 tag 5", "wait-for cycle: rank 0"}},
		{"skipbarrier", 5, []string{"ranks 0–3: Barrier #1 on world", "rank 4: Recv from rank 0 tag 5", "wait-for cycle: rank 0"}},
		{"skipbarrier", 8, []string{"ranks 0–6: Barrier #1 on world", "rank 7: Recv from rank 0 tag 5"}},
		{"roots", 3, []string{"rank 2: Bcast #1 on world, root 1", "ranks 0, 1: Recv from any source tag 77"}},
		{"roots", 5, []string{"rank 4: Bcast #1 on world, root 1", "ranks 0–3: Recv from any source tag 77"}},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s/np=%d", tc.mode, tc.np), func(t *testing.T) {
			res := gorun(t, time.Minute, "", "-np", fmt.Sprint(tc.np), "--deadlock-timeout", "1s", prog, "-mode", tc.mode)
			if res.code != 125 {
				t.Fatalf("exit code %d, want 125 (deadlock); output:\n%s", res.code, res.out)
			}
			if !strings.Contains(res.out, "gorun: deadlock: every running rank has been blocked in a gorun call for 1s") {
				t.Errorf("no deadlock headline; output:\n%s", res.out)
			}
			for _, w := range tc.want {
				if !strings.Contains(res.out, w) {
					t.Errorf("report lacks %q; output:\n%s", w, res.out)
				}
			}
			noStallStragglers(t)
		})
	}
}

// TestDeadlockDefault checks that the deadlock check is on by default: a
// Recv cycle ends with ExitDeadlock after DefaultDeadlockTimeout (10s),
// without any flag.
func TestDeadlockDefault(t *testing.T) {
	prog := stallProg(t)
	res := gorun(t, time.Minute, "", "-np", "2", prog, "-mode", "cycle")
	if res.code != 125 || !strings.Contains(res.out, "blocked in a gorun call for 10s") {
		t.Fatalf("exit code %d, want 125 with the report; output:\n%s", res.code, res.out)
	}
}

// TestNoDeadlockWhileComputing checks the false positives the deadlock
// check must not have: ranks waiting in a Barrier for a rank that
// computes (or sleeps) for longer than the deadlock timeout finish
// normally; the stall report says who computes.
func TestNoDeadlockWhileComputing(t *testing.T) {
	prog := stallProg(t)
	for _, mode := range []string{"compute", "sleep"} {
		for _, np := range []int{2, 3, 5} {
			t.Run(fmt.Sprintf("%s/np=%d", mode, np), func(t *testing.T) {
				res := gorun(t, time.Minute, "", "-np", fmt.Sprint(np), "--deadlock-timeout", "200ms", "--stall-report", "500ms",
					prog, "-mode", mode, "-for", "2s")
				if res.code != 0 {
					t.Fatalf("exit code %d; output:\n%s", res.code, res.out)
				}
				for _, w := range []string{"gorun: stall: no progress for 500ms", "rank 0: computing (outside any gorun call)",
					"Barrier #1 on world", "for rank 0, which is computing"} {
					if !strings.Contains(res.out, w) {
						t.Errorf("stall report lacks %q; output:\n%s", w, res.out)
					}
				}
				if strings.Contains(res.out, "deadlock") {
					t.Errorf("a slow rank was reported as a deadlock; output:\n%s", res.out)
				}
			})
		}
	}
}

// TestStallReportStacks checks ",stacks": the report carries each rank's
// goroutine stacks, the blocked call's frames among them.
func TestStallReportStacks(t *testing.T) {
	prog := stallProg(t)
	res := gorun(t, time.Minute, "", "-np", "2", "--stall-report", "300ms,stacks", "--deadlock-timeout", "1500ms", prog, "-mode", "cycle")
	if res.code != 125 {
		t.Fatalf("exit code %d, want 125; output:\n%s", res.code, res.out)
	}
	for _, w := range []string{"gorun: stall: no progress for 300ms", "rank 0 stacks:", "rank 1 stacks:", "main.main()",
		"github.com/gorun-hpc/gorun/comm.Recv["} {
		if !strings.Contains(res.out, w) {
			t.Errorf("report lacks %q; output:\n%s", w, res.out)
		}
	}
}

// TestTimeoutReport checks that --timeout prints what the ranks were
// blocked in before it ends the job (exit 124).
func TestTimeoutReport(t *testing.T) {
	prog := stallProg(t)
	res := gorun(t, time.Minute, "", "-np", "3", "--timeout", "1s", "--deadlock-timeout", "0", prog, "-mode", "skipbarrier")
	if res.code != 124 {
		t.Fatalf("exit code %d, want 124; output:\n%s", res.code, res.out)
	}
	for _, w := range []string{"gorun: what the ranks were doing at the time limit:", "ranks 0, 1: Barrier #1 on world", "rank 2: Recv from rank 0 tag 5"} {
		if !strings.Contains(res.out, w) {
			t.Errorf("report lacks %q; output:\n%s", w, res.out)
		}
	}
}

// noStallStragglers fails the test if a stallprog process is still alive.
func noStallStragglers(t *testing.T) {
	t.Helper()
	out, _ := exec.Command("pgrep", "-f", stallBin).Output()
	if s := strings.TrimSpace(string(out)); s != "" {
		t.Errorf("ranks left running after the job ended: pids %s", s)
	}
}

// lockedBuffer is a bytes.Buffer safe for a writer and a reader at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestSIGQUITReport sends SIGQUIT to gorun while its ranks are stuck in a
// cycle (deadlock check off) until the report shows the cycle, then ends
// the job with SIGINT.
func TestSIGQUITReport(t *testing.T) {
	prog := stallProg(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, gorunBin, "-np", "3", "--deadlock-timeout", "0", prog, "-mode", "cycle")
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tick := time.NewTicker(300 * time.Millisecond)
	defer tick.Stop()
	for !strings.Contains(out.String(), "wait-for cycle") {
		select {
		case <-ctx.Done():
			t.Fatalf("no report with the cycle; output:\n%s", out.String())
		case <-tick.C:
			cmd.Process.Signal(syscall.SIGQUIT)
		}
	}
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Wait()
	if ctx.Err() != nil {
		t.Fatalf("gorun did not end; output:\n%s", out.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Errorf("exit code %d after SIGINT, want 130; output:\n%s", code, out.String())
	}
	if s := out.String(); !strings.Contains(s, "gorun: SIGQUIT: what every rank is doing") || !strings.Contains(s, "rank 1: Recv from rank 2 tag 9") {
		t.Errorf("report lacks the headline or rank 1's call; output:\n%s", s)
	}
	noStallStragglers(t)
}

// TestObserveUsageErrors checks the new flags' bad values: exit 2 with
// one line.
func TestObserveUsageErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--stall-report", "soon", "true"}, "is not a duration"},
		{[]string{"--stall-report", "1s,heaps", "true"}, "optionally followed by ,stacks"},
		{[]string{"--stall-report", "0", "true"}, "must be positive"},
		{[]string{"--deadlock-timeout", "-1", "true"}, "must be positive"},
		{[]string{"--deadlock-timeout", "NaN", "true"}, "is not a duration"},
		{[]string{"--stats=xml", "true"}, "expected --stats or --stats=json:FILE"},
		{[]string{"--stats=json:", "true"}, "expected --stats or --stats=json:FILE"},
		{[]string{"--trace"}, "flag needs an argument"},
	} {
		r := gorun(t, 30*time.Second, "", tt.args...)
		lines := strings.Split(strings.TrimSpace(r.out), "\n")
		if r.code != 2 || len(lines) != 1 || !strings.HasPrefix(lines[0], "gorun: ") || !strings.Contains(lines[0], tt.want) {
			t.Errorf("gorun %q: exit %d, output %.300q; want exit 2 and one line with %q", tt.args, r.code, r.out, tt.want)
		}
	}
}
