package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/examples/internal/gorunexec"
)

// Under a real gorun (processes, TCP, the launcher's abort): a mismatched
// collective ends the job with an error that says what differs, well
// before the calls' own 20 s deadline; with --check, every rank says it.
func TestMismatchUnderGorun(t *testing.T) {
	l := gorunexec.Build(t)
	for _, c := range []struct {
		name  string
		flags []string
		np    int
		want  []string
	}{
		// Checking off: the free size check, on the ranks that see it.
		{"counts", nil, 3, []string{"ranks disagree on the buffer size", "ranks disagree on a collective call"}},
		{"counts", []string{"--check"}, 3, []string{"rank 2 has count 10, ranks 0,1 have count 20"}},
		{"roots", []string{"--check"}, 5, []string{"Bcast on world #1: rank 4 has root 1, ranks 0–3 have root 0"}},
		{"bcast-only-on-root", []string{"--check"}, 3, []string{"collective #1 on world: rank 2 calls Bcast, ranks 0,1 call Allreduce"}},
	} {
		t.Run(fmt.Sprintf("%s/np=%d/%v", c.name, c.np, c.flags), func(t *testing.T) {
			start := time.Now()
			out, code := l.RunFlags(t, 60*time.Second, c.np, c.flags, c.name)
			if code == 0 {
				t.Fatalf("exit 0:\n%s", out)
			}
			if d := time.Since(start); d > 15*time.Second {
				t.Errorf("took %v: the job waited for a deadline instead of failing at once:\n%s", d, out)
			}
			t.Logf("exit %d after %v:\n%s", code, time.Since(start).Round(time.Millisecond), out)
			gorunexec.MustContain(t, out, c.want...)
			if c.flags != nil {
				// Every rank reports the mismatch, unless gorun ended it first.
				for r := range c.np {
					if !strings.Contains(out, fmt.Sprintf("rank %d: collectives:", r)) && !strings.Contains(out, "aborted") {
						t.Errorf("rank %d reported nothing:\n%s", r, out)
					}
				}
			}
		})
	}
}
