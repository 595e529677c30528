package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"

	"github.com/gorun-hpc/gorun/examples/internal/gorunexec"
)

// In-process, on one host and on fake hosts (3 × 2, 1+2+2): every rank
// passes; with -corrupt every rank fails.
func TestInProcess(t *testing.T) {
	layouts := map[string][]string{
		"np1": make([]string, 1), "np3": make([]string, 3), "np5": make([]string, 5),
		"3x2": commtest.Layout(2, 2, 2), "1+2+2": commtest.Layout(1, 2, 2),
	}
	for name, layout := range layouts {
		for _, corrupt := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/corrupt=%v", name, corrupt), func(t *testing.T) {
				var out bytes.Buffer
				results := make([]Result, len(layout))
				commtest.RunHosts(t, layout, comm.Config{}, func(ctx context.Context, c *comm.Comm) error {
					var w io.Writer = io.Discard
					if c.Rank() == 0 {
						w = &out
					}
					r, err := Run(ctx, c, Params{Entries: 10007, Lookups: 2000, Seed: 3, Corrupt: corrupt}, w)
					results[c.Rank()] = r
					return err
				})
				hosts := map[string]bool{}
				for _, h := range layout {
					hosts[h] = true
				}
				for i, r := range results {
					if r.Pass == corrupt || r.Hosts != len(hosts) {
						t.Fatalf("rank %d: pass %v, %d hosts, %d wrong (corrupt %v)", i, r.Pass, r.Hosts, r.Wrong, corrupt)
					}
				}
				verdict := "VERDICT PASS"
				if corrupt {
					verdict = "VERDICT FAIL"
				}
				if !strings.Contains(out.String(), verdict) {
					t.Fatalf("no %q:\n%s", verdict, out.String())
				}
			})
		}
	}
}

// Under gorun: real processes sharing one segment per host; the verdict
// and exit status, the failure path, and nothing left in /dev/shm.
func TestGorun(t *testing.T) {
	l := gorunexec.Build(t)
	shm := func() int {
		ents, _ := os.ReadDir("/dev/shm")
		return len(ents)
	}
	before := shm()
	for _, np := range []int{1, 2, 4} {
		t.Run(fmt.Sprint("np", np), func(t *testing.T) {
			out, code := l.Run(t, 60*time.Second, np, "-entries", "200000", "-lookups", "100000")
			if code != 0 || strings.Count(out, "VERDICT PASS") != 1 {
				t.Fatalf("exit %d, output:\n%s", code, out)
			}
			gorunexec.MustContain(t, out, fmt.Sprintf("each of 1 hosts, %d ranks", np))
		})
	}
	t.Run("corrupt", func(t *testing.T) {
		out, code := l.Run(t, 60*time.Second, 3, "-entries", "200000", "-corrupt")
		if code == 0 || !strings.Contains(out, "VERDICT FAIL") {
			t.Fatalf("exit %d, output:\n%s", code, out)
		}
	})
	// A rank that aborts or is killed after the build: the job fails, and
	// no process maps a window afterwards (the memory is gone).
	for _, die := range []string{"abort", "kill"} {
		t.Run("die="+die, func(t *testing.T) {
			out, code := l.Run(t, 60*time.Second, 3, "-entries", "200000", "-die", die)
			if code == 0 || strings.Contains(out, "VERDICT") {
				t.Fatalf("exit %d, output:\n%s", code, out)
			}
			if pids := mappingWindows(t, l.Prog); len(pids) > 0 {
				t.Errorf("processes %v still map a window after the job", pids)
			}
		})
	}
	if after := shm(); after > before {
		t.Errorf("/dev/shm has %d entries after the runs, %d before", after, before)
	}
}

// mappingWindows lists the processes (of those this one may inspect)
// whose mappings include a node-shared window, but this test's own, among
// the processes that run prog (other packages' tests, run at the same
// time by go test ./..., map windows too: every collective's shared
// algorithms do).
func mappingWindows(t *testing.T, prog string) []string {
	t.Helper()
	maps, _ := filepath.Glob("/proc/[0-9]*/maps")
	var pids []string
	for _, m := range maps {
		pid := filepath.Base(filepath.Dir(m))
		if pid == strconv.Itoa(os.Getpid()) {
			continue
		}
		if cmd, err := os.ReadFile(filepath.Join(filepath.Dir(m), "cmdline")); err != nil || !bytes.Contains(cmd, []byte(prog)) {
			continue
		}
		b, err := os.ReadFile(m)
		if err == nil && bytes.Contains(b, []byte("gorun-win-")) {
			pids = append(pids, pid)
		}
	}
	return pids
}
