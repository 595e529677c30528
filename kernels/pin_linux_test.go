package kernels

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gorun-hpc/gorun/kernels/affinity"
)

// statusAllowed reads Cpus_allowed_list of thread tid from /proc.
func statusAllowed(tid int) (string, error) {
	b, err := os.ReadFile("/proc/self/task/" + strconv.Itoa(tid) + "/status")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", os.ErrNotExist
}

func TestPinning(t *testing.T) {
	allowed, err := affinity.Current()
	if err != nil {
		t.Skip(err)
	}
	p := newPool(t, Config{})
	if p.Workers() != allowed.Len() {
		t.Fatalf("%d workers, want one per allowed CPU (%s)", p.Workers(), allowed)
	}
	cpus := p.CPUs()
	type seen struct {
		sched, status string
		tid           int
	}
	got := make([]seen, p.Workers())
	p.Run(func(w int) {
		// The worker goroutine is locked to its thread: 0 means this thread.
		var s unix.CPUSet
		if err := unix.SchedGetaffinity(0, &s); err == nil {
			got[w].sched = affinity.FromUnix(&s).String()
		}
		got[w].tid = unix.Gettid()
		got[w].status, _ = statusAllowed(got[w].tid)
	})
	tids := map[int]bool{}
	for w, g := range got {
		want := strconv.Itoa(cpus[w])
		if cpus[w] != allowed[w] {
			t.Errorf("worker %d assigned CPU %d, want %d", w, cpus[w], allowed[w])
		}
		if g.sched != want || g.status != want {
			t.Errorf("worker %d: sched_getaffinity %q, /proc status %q; want %q", w, g.sched, g.status, want)
		}
		if tids[g.tid] {
			t.Errorf("worker %d shares thread %d", w, g.tid)
		}
		tids[g.tid] = true
		if g.tid != p.workers[w].tid {
			t.Errorf("worker %d ran on thread %d, started on %d", w, g.tid, p.workers[w].tid)
		}
	}
	// The caller's own affinity is unchanged.
	runtime.LockOSThread()
	cur, _ := affinity.Current()
	runtime.UnlockOSThread()
	if !cur.Equal(allowed) {
		t.Errorf("caller affinity changed to %s", cur)
	}
}

func TestPinExplicitAndOversubscribed(t *testing.T) {
	allowed, err := affinity.Current()
	if err != nil {
		t.Skip(err)
	}
	last := allowed[len(allowed)-1:]
	p := newPool(t, Config{Workers: 3, CPUs: last})
	got := make([]string, 3)
	p.Run(func(w int) { c, _ := affinity.Current(); got[w] = c.String() })
	for w, g := range got {
		if g != last.String() {
			t.Errorf("worker %d on %s, want %s", w, g, last)
		}
	}
	// Unpinned workers keep the process's set.
	q := newPool(t, Config{Workers: 2, NoPin: true})
	q.Run(func(w int) {
		c, _ := affinity.Current()
		got[w] = c.String()
	})
	if got[0] != allowed.String() || q.CPUs()[0] != -1 {
		t.Errorf("unpinned worker on %s, want %s", got[0], allowed)
	}
}
