// Package launchtest runs commands in the tests of gorun's launcher
// (cmd/gorun's and launcher/integration's), as httptest serves HTTP: each
// command leads its own process group and runs under a deadline, after
// which the whole group is killed and the test fails instead of hanging;
// and processes that are not the test's children are waited for without
// polling (a pidfd on Linux, kqueue on the BSDs and macOS).
//
// Every function may be called from parallel tests. A Proc belongs to the
// test goroutine that started it.
package launchtest

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Cmd is a command to run.
type Cmd struct {
	Path string
	Args []string
	// Env is added to the test process's environment.
	Env []string
	// Stdin is the command's standard input (empty: end of file at once).
	Stdin string
}

// Result is how a command ended.
type Result struct {
	Out     string // stdout and stderr, interleaved as written
	Code    int    // exit code; -1 if killed by a signal
	Elapsed time.Duration
}

// command builds c under ctx, in its own process group, killed whole when
// ctx ends.
func (c Cmd) command(ctx context.Context) *exec.Cmd {
	cmd := exec.CommandContext(ctx, c.Path, c.Args...)
	if c.Env != nil {
		cmd.Env = append(os.Environ(), c.Env...)
	}
	cmd.Stdin = strings.NewReader(c.Stdin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	return cmd
}

// Run runs c to its end and returns how it ended. It fails the test
// (t.Fatalf, with the output) if c does not end within limit.
func Run(t testing.TB, limit time.Duration, c Cmd) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := c.command(ctx)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	cmd.Run()
	r := Result{Out: out.String(), Code: exitCode(cmd), Elapsed: time.Since(start)}
	if ctx.Err() != nil {
		t.Fatalf("%s %q did not finish within %v; output:\n%s", c.Path, c.Args, limit, r.Out)
	}
	return r
}

func exitCode(cmd *exec.Cmd) int {
	if cmd.ProcessState == nil {
		return -1
	}
	return cmd.ProcessState.ExitCode()
}

// Proc is a started command whose output (stdout and stderr together) is
// read line by line.
type Proc struct {
	Cmd *exec.Cmd
	t   testing.TB
	c   Cmd

	ctx    context.Context
	cancel context.CancelFunc
	limit  time.Duration
	start  time.Time
	sc     *bufio.Scanner
	out    strings.Builder
}

// Start starts c; the test fails if it has not ended within limit when
// Wait is called (its process group is killed then).
func Start(t testing.TB, limit time.Duration, c Cmd) *Proc {
	t.Helper()
	p := &Proc{t: t, c: c, limit: limit}
	p.ctx, p.cancel = context.WithTimeout(context.Background(), limit)
	p.Cmd = c.command(p.ctx)
	out, err := p.Cmd.StdoutPipe()
	if err != nil {
		p.cancel()
		t.Fatal(err)
	}
	p.Cmd.Stderr = p.Cmd.Stdout
	p.start = time.Now()
	if err := p.Cmd.Start(); err != nil {
		p.cancel()
		t.Fatal(err)
	}
	t.Cleanup(p.cancel)
	p.sc = bufio.NewScanner(out)
	return p
}

// Until reads lines until match returns true for one of them; it reports
// false if the output ended (or the deadline passed) first.
func (p *Proc) Until(match func(line string) bool) bool {
	for p.sc.Scan() {
		line := p.sc.Text()
		p.out.WriteString(line + "\n")
		if match(line) {
			return true
		}
	}
	return false
}

// Ranks reads lines until want ranks have announced themselves, and
// returns their pids by rank. parse recognises an announcement. If the
// output ends first, Ranks waits for the command and fails the test.
func (p *Proc) Ranks(want int, parse func(line string) (rank, pid int, ok bool)) map[int]int {
	p.t.Helper()
	pids := map[int]int{}
	if want > 0 {
		p.Until(func(line string) bool {
			if r, pid, ok := parse(line); ok {
				pids[r] = pid
			}
			return len(pids) >= want
		})
	}
	if len(pids) < want {
		p.Cmd.Wait()
		p.t.Fatalf("%s %q: %d of %d ranks started:\n%s", p.c.Path, p.c.Args, len(pids), want, p.Out())
	}
	return pids
}

// Out returns the output read so far.
func (p *Proc) Out() string { return p.out.String() }

// Wait reads the rest of the output, waits for the command and returns
// how it ended. It fails the test if the command did not end within the
// limit given to Start.
func (p *Proc) Wait() Result {
	p.t.Helper()
	defer p.cancel()
	p.Until(func(string) bool { return false })
	p.Cmd.Wait()
	r := Result{Out: p.Out(), Code: exitCode(p.Cmd), Elapsed: time.Since(p.start)}
	if p.ctx.Err() != nil {
		p.t.Fatalf("%s %q did not finish within %v; output:\n%s", p.c.Path, p.c.Args, p.limit, r.Out)
	}
	return r
}

// Pgrep returns the pids of the processes whose command line matches the
// extended regular expression pattern (pgrep -f), this process aside.
// Zombies have no command line and never match.
func Pgrep(pattern string) []int {
	out, _ := exec.Command("pgrep", "-f", pattern).Output()
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil && pid != os.Getpid() {
			pids = append(pids, pid)
		}
	}
	return pids
}

// WaitGone waits until every process of pids has exited, at most limit
// (0: only looks), and returns those still running then. It needs no
// parent-child relation: the processes may be anyone's. A process that
// has exited but is not reaped yet counts as gone.
func WaitGone(pids []int, limit time.Duration) (left []int) {
	return waitGone(pids, time.Now().Add(limit))
}

// NoStragglers fails the test if a process whose command line matches
// pattern (see Pgrep) is still running limit after the call, and kills
// (SIGKILL, by pid) those it finds.
func NoStragglers(t testing.TB, limit time.Duration, pattern string) {
	t.Helper()
	left := WaitGone(Pgrep(pattern), limit)
	// Anything that started meanwhile is a straggler as well.
	for _, pid := range Pgrep(pattern) {
		if !contains(left, pid) {
			left = append(left, pid)
		}
	}
	if len(left) == 0 {
		return
	}
	var desc []string
	for _, pid := range left {
		cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		desc = append(desc, strconv.Itoa(pid)+" "+strings.ReplaceAll(strings.TrimRight(string(cmdline), "\x00"), "\x00", " "))
		syscall.Kill(pid, syscall.SIGKILL)
	}
	t.Errorf("processes left running %v after the job ended:\n%s", limit, strings.Join(desc, "\n"))
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
