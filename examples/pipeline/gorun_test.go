package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// buildUnderGorun builds the gorun launcher and this example into a
// temporary directory and returns their paths.
func buildUnderGorun(t *testing.T) (gorun, prog string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and launches processes")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	dir := t.TempDir()
	gorun, prog = filepath.Join(dir, "gorun"), filepath.Join(dir, "prog")
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	builds := []struct{ out, dir, pkg string }{{gorun, root, "./cmd/gorun"}, {prog, ".", "."}}
	// GORUN_BIN names a prebuilt launcher to use instead of building one
	// (for when cmd/gorun is mid-change in a shared tree).
	if bin := os.Getenv("GORUN_BIN"); bin != "" {
		gorun, builds = bin, builds[1:]
	}
	for _, b := range builds {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		cmd := exec.CommandContext(ctx, goBin, "build", "-o", b.out, b.pkg)
		cmd.Dir = b.dir
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("go build %s: %v\n%s", b.pkg, err, out)
		}
	}
	return gorun, prog
}

// runUnderGorun runs prog with np ranks under gorun, bounded by a deadline,
// and returns its combined output and exit code.
func runUnderGorun(t *testing.T, gorun, prog string, np int, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, gorun, append([]string{"-np", strconv.Itoa(np), "--timeout", "30s", prog}, args...)...)
	cmd.WaitDelay = 3 * time.Second
	cmd.Env = os.Environ()
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("np %d: no exit within the deadline\n%s", np, out)
	}
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("np %d: %v\n%s", np, err, out)
		}
		code = ee.ExitCode()
	}
	return string(out), code
}

func mustContain(t *testing.T, out string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
}
