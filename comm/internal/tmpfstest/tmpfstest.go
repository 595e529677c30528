package tmpfstest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// envDir names the tmpfs's directory in the re-run test's environment.
const envDir = "GORUN_TMPFSTEST_DIR"

// Dir returns the small tmpfs's directory when the calling test runs
// inside the namespace Rerun made, and "" otherwise. It is safe for
// concurrent use.
func Dir() string { return os.Getenv(envDir) }

// Rerun runs t's test (t.Name(), a top-level test or a subtest) again in
// this test binary, inside a private mount namespace (unshare -m) with a
// tmpfs of the given size (mount's size= option, such as "1M") mounted on
// a fresh directory that Dir then returns, and fails t unless that run
// passes within timeout. It skips t when it is not root, when there is
// no unshare(1), or when the namespace or the mount is refused (the test
// never started). Call it from the test's goroutine, as t.Skip and
// t.Fatal need.
func Rerun(t testing.TB, size string, timeout time.Duration) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (to mount a tmpfs in a mount namespace)")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("no unshare(1)")
	}
	dir := filepath.Join(t.TempDir(), "tiny")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, unshare, "-m", "--propagation", "private", "sh", "-c",
		`mount -t tmpfs -o size="$1" tmpfs "$`+envDir+`" && exec "$0" -test.run="$2" -test.v`,
		os.Args[0], size, runPattern(t.Name()))
	cmd.Env = append(os.Environ(), envDir+"="+dir)
	out, err := cmd.CombinedOutput()
	started := strings.Contains(string(out), "=== RUN   "+t.Name())
	if err != nil {
		if !started && ctx.Err() == nil {
			t.Skipf("no tmpfs in a mount namespace here: %v: %s", err, out)
		}
		t.Fatalf("the test in the mount namespace: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("the test did not pass in the mount namespace:\n%s", out)
	}
	t.Logf("in the mount namespace:\n%s", out)
}

// runPattern is a -test.run pattern that matches the test named name
// alone: each slash-separated element anchored and quoted.
func runPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}
