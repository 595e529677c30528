package main_test

// Integration tests: build gorun and a rank program, run real jobs (real
// processes, real TCP), and check output, exit codes and clean teardown.
// Every job runs under a deadline and a test fails loudly instead of hanging.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/launcher/launchtest"
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
	if old := os.Getenv("GORUN_TEST_GORUN"); old != "" {
		gorunBin = old // run the tests against another gorun (an older build, to see them fail)
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

func resultOf(r launchtest.Result) result { return result{r.Out, r.Code, r.Elapsed} }

// gorun runs gorun with args and fails the test if it does not end within
// limit.
func gorun(t *testing.T, limit time.Duration, stdin string, args ...string) result {
	t.Helper()
	return resultOf(launchtest.Run(t, limit, launchtest.Cmd{Path: gorunBin, Args: args, Stdin: stdin}))
}

// noStragglers fails the test if any process of the test's rank program is
// still alive.
func noStragglers(t *testing.T) {
	t.Helper()
	launchtest.NoStragglers(t, 0, jobBin)
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

// TestTransports runs a ring, a large message and a rank killed with
// SIGKILL in the middle of large transfers under each --transport; the
// killed rank is reported within the usual time and leaves nothing in
// /dev/shm (segments are memfds, which never have a name).
func TestTransports(t *testing.T) {
	for _, tr := range []string{"tcp", "shm", "auto"} {
		if tr == "shm" && !comm.ShmAvailable {
			continue // a build without shared memory (-tags gorun_portable)
		}
		t.Run(tr, func(t *testing.T) {
			wantOK(t, gorun(t, 60*time.Second, "", "--transport", tr, "-np", "3", jobBin, "-mode", "ring"), 3)
			wantOK(t, gorun(t, 60*time.Second, "", "--transport", tr, "-np", "2", jobBin, "-mode", "big", "-size", fmt.Sprint(40<<20)), 2)
			before := shmEntries(t)
			for _, np := range []int{2, 3} {
				r := gorun(t, 30*time.Second, "", "--transport", tr, "-np", fmt.Sprint(np), jobBin, "-mode", "killmid")
				if r.code != 128+9 || !strings.Contains(r.out, "was killed by signal 9 (SIGKILL)") {
					t.Fatalf("np %d: exit %d, output:\n%s", np, r.code, r.out)
				}
				if n := strings.Count("\n"+r.out, "\ngorun: "); n != 1 {
					t.Errorf("np %d: want one line naming the failed rank, got:\n%s", np, r.out)
				}
				if strings.Contains(r.out, "receive returned: <nil>") {
					t.Errorf("np %d: a receive loop ended without an error:\n%s", np, r.out)
				}
				if r.elapsed > 10*time.Second {
					t.Errorf("np %d: teardown took %v", np, r.elapsed)
				}
				noStragglers(t)
			}
			if after := shmEntries(t); after != before {
				t.Errorf("/dev/shm: %q before, %q after", before, after)
			}
		})
	}
	r := gorun(t, 30*time.Second, "", "--transport", "tcp", "-np", "1", "sh", "-c", `echo "transport=$GORUN_TRANSPORT"`)
	if r.code != 0 || !strings.Contains(r.out, "transport=tcp") {
		t.Fatalf("--transport tcp: exit %d, output %q", r.code, r.out)
	}
}

// shmEntries lists /dev/shm, leaving out POSIX named semaphores
// ("sem.NAME", as sem_open makes them): gorun makes none, and other
// programs on a shared machine (Python's multiprocessing) create and leak
// them while the test runs.
func shmEntries(t *testing.T) string {
	ents, err := os.ReadDir("/dev/shm")
	if err != nil {
		return ""
	}
	var names []string
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), "sem.") {
			names = append(names, e.Name())
		}
	}
	return strings.Join(names, ",")
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
	// Wait until every rank is blocked, then press Ctrl-C.
	cmd, _, wait := startJob(t, 30*time.Second, 3, "-np", "3", jobBin, "-mode", "block")
	cmd.Process.Signal(syscall.SIGINT)
	if r := wait(); r.code != 130 {
		t.Fatalf("exit code %d, want 130:\n%s", r.code, r.out)
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
		{[]string{"--transport", "udp", "true"}, `--transport "udp": expected auto, shm or tcp`},
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

// ---- issue 18: the faults gorun must notice, each named in one line ----

// startJob starts gorun with args and waits until want ranks have printed
// "rank R pid P: blocking"; it returns their pids and a function that
// collects the rest of the output, waits for gorun and returns the result.
func startJob(t *testing.T, limit time.Duration, want int, args ...string) (*exec.Cmd, map[int]int, func() result) {
	t.Helper()
	p := launchtest.Start(t, limit, launchtest.Cmd{Path: gorunBin, Args: args})
	pids := p.Ranks(want, func(line string) (r, pid int, ok bool) {
		n, _ := fmt.Sscanf(line, "rank %d pid %d: blocking", &r, &pid)
		return r, pid, n == 2
	})
	return p.Cmd, pids, func() result { t.Helper(); return resultOf(p.Wait()) }
}

// oneGorunLine checks that exactly one line of out comes from gorun and
// that it contains want.
func oneGorunLine(t *testing.T, r result, wantCode int, want string) {
	t.Helper()
	if r.code != wantCode {
		t.Errorf("exit code %d, want %d; output:\n%s", r.code, wantCode, r.out)
	}
	if !strings.Contains(r.out, want) {
		t.Errorf("output lacks %q:\n%s", want, r.out)
	}
	if n := strings.Count("\n"+r.out, "\ngorun: "); n != 1 {
		t.Errorf("want one line from gorun, got %d:\n%s", n, r.out)
	}
}

// Item 1: a stopped rank stops heartbeating; gorun names it, the others
// get ErrAborted, and the job ends as for a crash.
func TestRankStopped(t *testing.T) {
	for _, np := range []int{2, 3, 5} {
		t.Run(fmt.Sprint("np=", np), func(t *testing.T) {
			victim := np / 2
			cmd, pids, wait := startJob(t, 60*time.Second, np, "--heartbeat-timeout", "1.5", "-np", fmt.Sprint(np), jobBin, "-mode", "block")
			_ = cmd
			syscall.Kill(pids[victim], syscall.SIGSTOP)
			r := wait()
			oneGorunLine(t, r, 1, fmt.Sprintf("gorun: rank %d (pid %d) stopped responding for 1.5s", victim, pids[victim]))
			if n := strings.Count(r.out, fmt.Sprintf("job aborted: rank %d (pid %d) stopped responding", victim, pids[victim])); n != np-1 {
				t.Errorf("%d of %d survivors reported ErrAborted with the cause:\n%s", n, np-1, r.out)
			}
			noStragglers(t)
		})
	}
}

// Item 1: --heartbeat-timeout 0 turns the watch off (for a debugger).
func TestHeartbeatOff(t *testing.T) {
	r := gorun(t, 30*time.Second, "", "-np", "2", "--heartbeat-timeout", "0", "sh", "-c", `echo "hb=$GORUN_HEARTBEAT fd=$GORUN_AGENT_FD"`)
	if r.code != 0 || strings.Count(r.out, "hb= fd=3\n") != 2 {
		t.Fatalf("exit %d:\n%s", r.code, r.out)
	}
	r = gorun(t, 30*time.Second, "", "-np", "1", "--heartbeat-timeout", "3", "sh", "-c", `echo "hb=$GORUN_HEARTBEAT"`)
	if r.code != 0 || !strings.Contains(r.out, "hb=500ms\n") {
		t.Fatalf("exit %d:\n%s", r.code, r.out)
	}
}

// Item 2: a rank that initialised comm and exits 0 without Close is the
// job's failure, named as such, not the survivors who lost it.
func TestExitWithoutClose(t *testing.T) {
	failureTest(t, "exit0", 1, "gorun: rank %d (pid ")
	failureTest(t, "exit0", 1, "exited without calling Close")
}

// Item 2: a rank that exits 0 before Init while the others wait for it in
// Init ends the job within seconds (failureTest: under 10 s), named.
func TestExitBeforeInit(t *testing.T) {
	failureTest(t, "early0", 1, "gorun: rank %d (pid ")
	failureTest(t, "early0", 1, "exited with code 0 before calling Init")
}

// Programs that never use comm keep exit 0 as success.
func TestScriptsNeedNoInit(t *testing.T) {
	r := gorun(t, 30*time.Second, "", "-np", "3", "sh", "-c", `[ "$GORUN_RANK" = 2 ] && exit 0; sleep 0.2`)
	if r.code != 0 || strings.TrimSpace(r.out) != "" {
		t.Fatalf("exit %d:\n%s", r.code, r.out)
	}
}

// Item 3: a rank's death is reported at once, even when a child of the
// rank keeps its output open (a background job, or a daemon that outlives
// its subshell); the child's output is forwarded while it lives, and the
// child goes with the job.
func TestRankDeathWithChildHoldingOutput(t *testing.T) {
	for name, script := range map[string]string{
		"background": `sleep 29.31 & echo "child of $GORUN_RANK started"; exec "$0" -mode block`,
		"daemon":     `(sleep 29.31 &); echo "child of $GORUN_RANK started"; exec "$0" -mode block`,
	} {
		t.Run(name, func(t *testing.T) {
			_, pids, wait := startJob(t, 30*time.Second, 3, "-np", "3", "sh", "-c", script, jobBin)
			killed := time.Now()
			syscall.Kill(pids[1], syscall.SIGKILL)
			r := wait()
			took := time.Since(killed)
			oneGorunLine(t, r, 137, fmt.Sprintf("gorun: rank 1 (pid %d) was killed by signal 9 (SIGKILL)", pids[1]))
			if strings.Count(r.out, "child of ") != 3 {
				t.Errorf("the children's output was not forwarded:\n%s", r.out)
			}
			if took > 8*time.Second {
				t.Errorf("the job took %v to end after the kill", took)
			}
			launchtest.NoStragglers(t, 0, "sleep 29.31") // the ranks' children
			noStragglers(t)
		})
	}
}

// Item 4: after kill -9 of gorun, no process of the job, the ranks'
// children included, survives more than 2 s.
func TestKill9Gorun(t *testing.T) {
	cmd, _, wait := startJob(t, 30*time.Second, 3, "-np", "3", "sh", "-c", `sleep 29.47 & exec "$0" -mode block`, jobBin)
	cmd.Process.Signal(syscall.SIGKILL)
	killed := time.Now()
	wait()
	job := append(launchtest.Pgrep("sleep 29.47"), launchtest.Pgrep(jobBin)...)
	if left := launchtest.WaitGone(job, 2*time.Second-time.Since(killed)); len(left) > 0 {
		t.Errorf("processes of the job alive 2 s after gorun was killed: pids %v", left)
		for _, pid := range left {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	t.Logf("every process of the job was gone %v after the kill", time.Since(killed).Round(time.Millisecond))
}

// Item 5: a rank killed before Init: the others, waiting in Init, get
// ErrAborted with the cause at once instead of being terminated.
func TestRankKilledBeforeInit(t *testing.T) {
	for _, np := range []int{2, 3, 8} {
		t.Run(fmt.Sprint("np=", np), func(t *testing.T) {
			r := gorun(t, 30*time.Second, "", "-np", fmt.Sprint(np), jobBin, "-mode", "killearly")
			oneGorunLine(t, r, 137, fmt.Sprintf("gorun: rank %d (pid ", np-1))
			if n := strings.Count(r.out, fmt.Sprintf("comm: job aborted: rank %d (pid", np-1)); n != np-1 {
				t.Errorf("%d of %d survivors reported ErrAborted from Init:\n%s", n, np-1, r.out)
			}
			if r.elapsed > 5*time.Second {
				t.Errorf("the job took %v", r.elapsed)
			}
			noStragglers(t)
		})
	}
}

// Item 10: with -H naming only this machine the store listens on loopback
// only, not on every interface.
func TestStoreListensOnLoopback(t *testing.T) {
	if _, err := exec.LookPath("ss"); err != nil {
		t.Skip("ss is not installed")
	}
	r := gorun(t, 30*time.Second, "", "-H", "localhost:2", "sh", "-c",
		`[ "$GORUN_RANK" = 0 ] && ss -Hltnp | grep "pid=$PPID," | awk '{print "listen " $4}'; echo "store $GORUN_STORE"`)
	if r.code != 0 || !strings.Contains(r.out, "listen 127.0.0.1:") || strings.Count(r.out, "store 127.0.0.1:") != 2 {
		t.Fatalf("exit %d:\n%s", r.code, r.out)
	}
	for _, l := range strings.Split(r.out, "\n") {
		if strings.HasPrefix(l, "listen ") && !strings.HasPrefix(l, "listen 127.0.0.1:") {
			t.Errorf("gorun listens beyond loopback: %s\n%s", l, r.out)
		}
	}
}

// Item 11: with no -H, no --hostfile and no Slurm allocation, gorun takes
// the hostfile the MPI Operator's environment names (Open MPI's or
// Hydra's variable), as mpirun does.
func TestHostfileFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	hf := filepath.Join(dir, "hostfile")
	os.WriteFile(hf, []byte("localhost slots=3\n"), 0o644)
	for _, name := range []string{"OMPI_MCA_orte_default_hostfile", "HYDRA_HOST_FILE"} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, hf)
			r := gorun(t, 30*time.Second, "", "sh", "-c", `echo "rank $GORUN_RANK of $GORUN_SIZE"`)
			if r.code != 0 || strings.Count(r.out, " of 3\n") != 3 {
				t.Fatalf("exit %d:\n%s", r.code, r.out)
			}
			t.Setenv(name, filepath.Join(dir, "missing"))
			r = gorun(t, 30*time.Second, "", "true")
			if r.code != 2 || !strings.HasPrefix(r.out, "gorun: $"+name+": open ") {
				t.Fatalf("exit %d:\n%s", r.code, r.out)
			}
			// -np alone with --launcher local ignores it.
			if r := gorun(t, 30*time.Second, "", "--launcher", "local", "-np", "1", "true"); r.code != 0 {
				t.Fatalf("--launcher local: exit %d:\n%s", r.code, r.out)
			}
		})
	}
}
