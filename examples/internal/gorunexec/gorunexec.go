// Package gorunexec runs an example in the examples' tests: under a freshly
// built gorun (real processes, real TCP) or in-process (commtest), always
// with a deadline, so that a broken example fails its test instead of
// hanging it.
package gorunexec

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// Launcher holds the paths of a gorun binary and of the example under test,
// and the --transport to run it with ("": gorun's default, auto). Its
// methods may be called from parallel tests.
type Launcher struct {
	Gorun, Prog string
	Transport   string
}

// Build builds gorun and the package in the test's working directory (the
// example) into t's temporary directory. It skips the test under -short.
// GORUN_BIN names a prebuilt gorun to use instead.
func Build(t testing.TB) *Launcher {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and launches processes")
	}
	dir := t.TempDir()
	l := &Launcher{Gorun: filepath.Join(dir, "gorun"), Prog: filepath.Join(dir, "prog")}
	builds := map[string]string{l.Prog: "."}
	if bin := os.Getenv("GORUN_BIN"); bin != "" {
		l.Gorun = bin
	} else {
		builds[l.Gorun] = "github.com/gorun-hpc/gorun/cmd/gorun"
	}
	for out, pkg := range builds {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		b, err := exec.CommandContext(ctx, "go", "build", "-o", out, pkg).CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, b)
		}
	}
	return l
}

// Run runs `gorun -np np PROG args...` and returns its combined output and
// exit status. It fails the test if the job outlives limit (killing its
// whole process group).
func (l *Launcher) Run(t testing.TB, limit time.Duration, np int, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	gargs := []string{"-np", fmt.Sprint(np)}
	if l.Transport != "" {
		gargs = append(gargs, "--transport", l.Transport)
	}
	cmd := exec.CommandContext(ctx, l.Gorun, append(append(gargs, l.Prog), args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("gorun -np %d %v did not finish within %v; output:\n%s", np, args, limit, out.String())
	}
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("gorun: %v\n%s", err, out.String())
	}
	return out.String(), cmd.ProcessState.ExitCode()
}

// VerifyUnderGorun runs the example under a real gorun at each rank count
// of nps (one subtest each, limit per run), over gorun's default transport
// (shared memory on one host), and at the largest count over TCP too
// (--transport tcp), and checks the exit status and that the output
// contains verdict. The NPB ports use it with class S.
func VerifyUnderGorun(t *testing.T, nps []int, limit time.Duration, verdict string, args ...string) {
	l := Build(t)
	type run struct {
		np        int
		transport string
	}
	var runs []run
	for _, np := range nps {
		runs = append(runs, run{np, ""})
	}
	if len(nps) > 0 {
		runs = append(runs, run{nps[len(nps)-1], "tcp"})
	}
	for _, r := range runs {
		name := fmt.Sprint("np=", r.np)
		if r.transport != "" {
			name += "/" + r.transport
		}
		t.Run(name, func(t *testing.T) {
			l := *l
			l.Transport = r.transport
			np := r.np
			out, code := l.Run(t, limit, np, args...)
			if code != 0 {
				t.Fatalf("exit %d:\n%s", code, out)
			}
			MustContain(t, out, verdict)
		})
	}
}

// MustContain reports every sub that out lacks.
func MustContain(t testing.TB, out string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
}

// InProcess runs run on n ranks in this process (commtest: real loopback
// TCP, with a deadline) and returns what the ranks wrote, concatenated in
// the order they finished, and each rank's verdict.
func InProcess(t testing.TB, n int, run func(ctx context.Context, c *comm.Comm, out io.Writer) (bool, error)) (string, []bool) {
	t.Helper()
	var mu sync.Mutex
	var out bytes.Buffer
	verdicts := make([]bool, n)
	commtest.Run(t, n, comm.Config{}, func(ctx context.Context, c *comm.Comm) error {
		var buf bytes.Buffer
		ok, err := run(ctx, c, &buf)
		mu.Lock()
		defer mu.Unlock()
		out.Write(buf.Bytes())
		verdicts[c.Rank()] = ok
		return err
	})
	return out.String(), verdicts
}
