package main

// Helpers that build gorun and this example once per test binary and run the
// example under gorun with a deadline (a test fails loudly, never hangs).

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce         sync.Once
	buildErr          error
	gorunBin, progBin string
	toolDir           string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if toolDir != "" {
		os.RemoveAll(toolDir)
	}
	os.Exit(code)
}

func build(t *testing.T) {
	t.Helper()
	buildOnce.Do(func() {
		toolDir, buildErr = os.MkdirTemp("", "gorun-example-")
		if buildErr != nil {
			return
		}
		gorunBin = filepath.Join(toolDir, "gorun")
		progBin = filepath.Join(toolDir, "prog")
		for out, pkg := range map[string]string{gorunBin: "../../cmd/gorun", progBin: "."} {
			if b, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("building %s: %v\n%s", pkg, err, b)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
}

// runGorun runs `gorun -np np prog args...` and returns its combined output
// and exit status; it fails the test if the job outlives limit.
func runGorun(t *testing.T, limit time.Duration, np int, args ...string) (string, int) {
	t.Helper()
	build(t)
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, gorunBin, append([]string{"-np", fmt.Sprint(np), progBin}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("gorun -np %d %v did not finish within %v; output:\n%s", np, args, limit, out.String())
	}
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatalf("gorun: %v\n%s", err, out.String())
		}
	}
	return out.String(), cmd.ProcessState.ExitCode()
}
