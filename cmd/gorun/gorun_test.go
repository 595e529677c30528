package main_test

// Integration tests: build gorun and a rank program, run real jobs (real
// processes, real TCP), and check output, exit codes and clean teardown.
// Every job runs under a deadline and a test fails loudly instead of hanging.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

var gorunBin, jobBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gorun-test-")
	if err != nil {
		panic(err)
	}
	gorunBin = filepath.Join(dir, "gorun")
	jobBin = filepath.Join(dir, "jobprog")
	for out, pkg := range map[string]string{gorunBin: ".", jobBin: "./testdata/jobprog"} {
		if b, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "building %s: %v\n%s", pkg, err, b)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	out     string // stdout and stderr, interleaved as written
	code    int
	elapsed time.Duration
}

// gorun runs gorun with args and fails the test if it does not end within
// limit.
func gorun(t *testing.T, limit time.Duration, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, gorunBin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Stdin = strings.NewReader(stdin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	start := time.Now()
	err := cmd.Run()
	res := result{out: out.String(), code: cmd.ProcessState.ExitCode(), elapsed: time.Since(start)}
	if ctx.Err() != nil {
		t.Fatalf("gorun %v did not finish within %v; output:\n%s", args, limit, res.out)
	}
	_ = err
	return res
}

// noStragglers fails the test if any process of the test's rank program is
// still alive.
func noStragglers(t *testing.T) {
	t.Helper()
	out, _ := exec.Command("pgrep", "-f", jobBin).Output()
	if s := strings.TrimSpace(string(out)); s != "" {
		t.Errorf("ranks left running after the job ended: pids %s", s)
		exec.Command("pkill", "-9", "-f", jobBin).Run()
	}
}

func wantOK(t *testing.T, r result, np int) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit code %d, want 0; output:\n%s", r.code, r.out)
	}
	for rank := range np {
		if !strings.Contains(r.out, fmt.Sprintf("rank %d: ok\n", rank)) {
			t.Fatalf("rank %d did not report ok; output:\n%s", rank, r.out)
		}
	}
}

var rankCounts = []int{1, 2, 3, 4, 5, 7, 8}

func TestRing(t *testing.T) {
	for _, np := range rankCounts {
		t.Run(fmt.Sprint("np=", np), func(t *testing.T) {
			wantOK(t, gorun(t, 60*time.Second, "", "-np", fmt.Sprint(np), jobBin, "-mode", "ring"), np)
		})
	}
}

func TestWildcards(t *testing.T) {
	for _, np := range []int{2, 5, 8} {
		t.Run(fmt.Sprint("np=", np), func(t *testing.T) {
			wantOK(t, gorun(t, 60*time.Second, "", "-np", fmt.Sprint(np), jobBin, "-mode", "wildcard"), np)
		})
	}
}

func TestOrderingUnderLoad(t *testing.T) {
	for _, np := range []int{2, 3, 8} {
		t.Run(fmt.Sprint("np=", np), func(t *testing.T) {
			wantOK(t, gorun(t, 120*time.Second, "", "-np", fmt.Sprint(np), jobBin, "-mode", "order", "-count", "600"), np)
		})
	}
}

func TestLargeMessage(t *testing.T) {
	size := 300 << 20
	if testing.Short() {
		size = 40 << 20
	}
	wantOK(t, gorun(t, 120*time.Second, "", "-np", "2", jobBin, "-mode", "big", "-size", fmt.Sprint(size)), 2)
}

func failureTest(t *testing.T, mode string, wantCode int, wantLine string) {
	for _, np := range []int{2, 3, 8} {
		t.Run(fmt.Sprint("np=", np), func(t *testing.T) {
			r := gorun(t, 30*time.Second, "", "-np", fmt.Sprint(np), jobBin, "-mode", mode)
			if r.code != wantCode {
				t.Fatalf("exit code %d, want %d; output:\n%s", r.code, wantCode, r.out)
			}
			line := wantLine
			if strings.Contains(line, "%d") {
				line = fmt.Sprintf(wantLine, np-1)
			}
			if !strings.Contains(r.out, line) {
				t.Fatalf("output lacks %q:\n%s", line, r.out)
			}
			if n := strings.Count("\n"+r.out, "\ngorun: "); n != 1 {
				t.Errorf("want one line naming the failed rank, got:\n%s", r.out)
			}
			// The survivors were blocked on the failed rank: each either
			// got an error from its receive or was terminated; none hung.
			if strings.Contains(r.out, "blocked receive returned: <nil>") {
				t.Errorf("a blocked receive succeeded:\n%s", r.out)
			}
			if r.elapsed > 10*time.Second {
				t.Errorf("teardown took %v", r.elapsed)
			}
			noStragglers(t)
		})
	}
}

func TestRankExitsNonZero(t *testing.T) {
	failureTest(t, "fail", 3, "gorun: rank %d (pid ")
	failureTest(t, "fail", 3, "exited with code 3")
}

func TestRankKilled(t *testing.T) {
	failureTest(t, "kill", 128+9, "gorun: rank %d (pid ")
	failureTest(t, "kill", 128+9, "was killed by signal 9 (SIGKILL)")
}

func TestAbort(t *testing.T) {
	failureTest(t, "abort", 5, "gorun: rank %d (pid ")
	failureTest(t, "abort", 5, "called Abort(5)")
}

func TestSurvivorsGetError(t *testing.T) {
	r := gorun(t, 30*time.Second, "", "-np", "3", jobBin, "-mode", "fail")
	// Blocked ranks learn of the abort, and its cause, before they would
	// be terminated.
	if strings.Count(r.out, "job aborted: rank 2 (pid") != 2 {
		t.Fatalf("survivors did not report ErrAborted:\n%s", r.out)
	}
}

func TestTimeout(t *testing.T) {
	r := gorun(t, 30*time.Second, "", "--timeout", "2", "-np", "3", jobBin, "-mode", "block")
	if r.code != 124 || !strings.Contains(r.out, "exceeded its time limit of 2s") {
		t.Fatalf("exit %d, output:\n%s", r.code, r.out)
	}
	noStragglers(t)
}

func TestInterrupt(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, gorunBin, "-np", "3", jobBin, "-mode", "block")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until every rank is blocked, then press Ctrl-C.
	sc := bufio.NewScanner(out)
	blocked := 0
	var lines []string
	for blocked < 3 && sc.Scan() {
		lines = append(lines, sc.Text())
		if strings.HasSuffix(sc.Text(), ": blocking") {
			blocked++
		}
	}
	if blocked < 3 {
		t.Fatalf("ranks did not start: %q", lines)
	}
	cmd.Process.Signal(syscall.SIGINT)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	cmd.Wait()
	if ctx.Err() != nil {
		t.Fatalf("gorun did not end after SIGINT: %q", lines)
	}
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Fatalf("exit code %d, want 130: %q", code, lines)
	}
	noStragglers(t)
}

func TestStrangerRefused(t *testing.T) {
	r := gorun(t, 60*time.Second, "", "-np", "2", jobBin, "-mode", "stranger")
	wantOK(t, r, 2)
	if n := strings.Count(r.out, "gorun: rank 0: refused connection from"); n < 3 {
		t.Fatalf("want 3 refused connections logged by rank 0, got %d:\n%s", n, r.out)
	}
	if !strings.Contains(r.out, "gorun: rendezvous: refused connection from") {
		t.Fatalf("the store did not log the refused stranger:\n%s", r.out)
	}
}

func TestStdinToRankZero(t *testing.T) {
	r := gorun(t, 30*time.Second, "some input\n", "-np", "2", jobBin, "-mode", "stdin")
	wantOK(t, r, 2)
	if !strings.Contains(r.out, `rank 0 read "some input\n"`) {
		t.Fatalf("output:\n%s", r.out)
	}
}

func TestEnvironmentAndTagOutput(t *testing.T) {
	t.Setenv("GORUN_TEST_FWD", "forwarded")
	r := gorun(t, 30*time.Second, "", "-np", "3", "--tag-output", "-x", "FOO=bar", "-x", "GORUN_TEST_FWD",
		"sh", "-c", `echo "$GORUN_RANK/$GORUN_SIZE $GORUN_LOCAL_RANK/$GORUN_LOCAL_SIZE $FOO $GORUN_TEST_FWD"; echo e >&2`)
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.out)
	}
	for rank := range 3 {
		want := fmt.Sprintf("[1,%d]<stdout>:%d/3 %d/3 bar forwarded\n", rank, rank, rank)
		if !strings.Contains(r.out, want) {
			t.Fatalf("output lacks %q:\n%s", want, r.out)
		}
		if !strings.Contains(r.out, fmt.Sprintf("[1,%d]<stderr>:e\n", rank)) {
			t.Fatalf("stderr of rank %d not tagged:\n%s", rank, r.out)
		}
	}
	if strings.Contains(r.out, "GORUN_SECRET") {
		t.Fatal("secret leaked")
	}
}

func TestGoPackageDirectory(t *testing.T) {
	r := gorun(t, 120*time.Second, "", "-np", "3", "../../examples/pi", "-n", "300000")
	if r.code != 0 || !strings.Contains(r.out, "VERDICT PASS") {
		t.Fatalf("exit %d:\n%s", r.code, r.out)
	}
}

// TestUsageErrors: bad command lines get one line and exit 2, never a
// stack trace; want is part of that line.
func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	longLine := filepath.Join(dir, "long-line")
	os.WriteFile(longLine, []byte("h1 slots=1\n"+strings.Repeat("h", 200<<10)+" slots=2\n"), 0o644)
	longLabel := filepath.Join(dir, "long-label")
	os.WriteFile(longLabel, []byte("# a comment\n"+strings.Repeat("a", 64)+".example.org\n"), 0o644)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{}, "no program given"},
		{[]string{"-np", "0", "true"}, "-np must be at least 1"},
		{[]string{"-np", "-3", "true"}, "-np must be at least 1"},
		{[]string{"--no-such-flag", "true"}, "flag provided but not defined"},
		{[]string{"-np", "2", "./does/not/exist"}, "program not found"},
		{[]string{"-np", "2", "no-such-program-anywhere"}, "is not in PATH"},
		{[]string{"--timeout", "soon", "true"}, "is not a duration"},
		{[]string{"--bind-to", "galaxy", "true"}, "--bind-to"},
		{[]string{"-x", "=x", "true"}, "expected VAR or VAR=VALUE"},
		// Issue 18, items 6-9.
		{[]string{"-np", "99999999999", "/bin/true"}, "-np 99999999999: at most 16777216 ranks are supported"},
		{[]string{"-np", "16777217", "/bin/true"}, "at most 16777216 ranks"},
		{[]string{"--timeout", "NaN", "true"}, `"NaN" is not a duration`},
		{[]string{"--timeout", "Inf", "true"}, `"Inf" is not a duration`},
		{[]string{"--timeout", "-Inf", "true"}, `"-Inf" is not a duration`},
		{[]string{"--timeout", "1e-10", "true"}, `"1e-10" is too short`},
		{[]string{"--timeout", "1ns", "true"}, `"1ns" is too short`},
		{[]string{"--timeout", "1e300", "true"}, `"1e300" is too long`},
		{[]string{"--timeout", "-5", "true"}, "must be positive"},
		{[]string{"--timeout", "-5s", "true"}, "must be positive"},
		{[]string{"--timeout", "0", "true"}, "must be positive"},
		{[]string{"--timeout", "0s", "true"}, "must be positive"},
		{[]string{"--heartbeat-timeout", "NaN", "true"}, "is not a duration"},
		{[]string{"--heartbeat-timeout", "-1", "true"}, "must be positive"},
		{[]string{"--launcher-exec", "", "true"}, "--launcher-exec is empty"},
		{[]string{"--launcher-exec", "  ", "-H", "h1", "true"}, "--launcher-exec is empty"},
		{[]string{"--hostfile", longLine, "true"}, "hostfile " + longLine + ":2: host name"},
		{[]string{"--hostfile", longLabel, "true"}, "hostfile " + longLabel + ":2: host name"},
		{[]string{"-H", strings.Repeat("x", 300), "true"}, "at most 253 are allowed"},
		{[]string{"-H", "h1,bad/name", "true"}, "entry 2: invalid character '/'"},
		{[]string{"-np", "2", "./testdata/notmain"}, "./testdata/notmain is not a main package (it is package notmain)"},
	} {
		r := gorun(t, 30*time.Second, "", tt.args...)
		lines := strings.Split(strings.TrimSpace(r.out), "\n")
		if r.code != 2 || len(lines) != 1 || !strings.HasPrefix(lines[0], "gorun: ") || !strings.Contains(lines[0], tt.want) {
			t.Errorf("gorun %.200q: exit %d, output %.300q; want exit 2 and one line with %q", tt.args, r.code, r.out, tt.want)
		}
	}
}

func TestHelpAndVersion(t *testing.T) {
	if r := gorun(t, 10*time.Second, "", "--help"); r.code != 0 || !strings.Contains(r.out, "Usage: gorun") {
		t.Fatalf("--help: %d %s", r.code, r.out)
	}
	if r := gorun(t, 10*time.Second, "", "--version"); r.code != 0 || !strings.HasPrefix(r.out, "gorun ") {
		t.Fatalf("--version: %d %s", r.code, r.out)
	}
}

func TestSingletonWithoutGorun(t *testing.T) {
	cmd := exec.Command(jobBin, "-mode", "ring")
	cmd.Env = os.Environ()
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "rank 0: ok") {
		t.Fatalf("plain run: %v\n%s", err, out)
	}
}
