package kernels

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gorun-hpc/gorun/kernels/affinity"
)

func newPool(t testing.TB, cfg Config) *Pool {
	t.Helper()
	p, err := NewPool(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

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

func TestPinFailure(t *testing.T) {
	if _, err := NewPool(Config{CPUs: affinity.CPUSet{4000}}); err == nil {
		t.Fatal("pinning to CPU 4000 succeeded")
	}
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	for range 5 {
		p, err := NewPool(Config{Workers: 4})
		if err != nil {
			t.Fatal(err)
		}
		p.ParallelFor(100, Schedule{Kind: Dynamic}, func(lo, hi, w int) {})
		var wg sync.WaitGroup
		for range 3 { // concurrent, repeated Close
			wg.Add(1)
			go func() { defer wg.Done(); p.Close() }()
		}
		wg.Wait()
		p.Close()
	}
	// Goroutines finish their exit just after signalling; yield until gone.
	for i := 0; i < 10000 && runtime.NumGoroutine() > before; i++ {
		runtime.Gosched()
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines left behind", n-before)
	}
}

func TestUseAfterClosePanics(t *testing.T) {
	p, _ := NewPool(Config{Workers: 1})
	p.Close()
	defer func() {
		if r := recover(); r == nil || !strings.HasPrefix(r.(string), "kernels: ") {
			t.Errorf("recover = %v", r)
		}
	}()
	p.Run(func(int) {})
}

func TestPanicPropagates(t *testing.T) {
	p := newPool(t, Config{Workers: 3, MinGrain: 1})
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("recover = %v", r)
			}
		}()
		p.Run(func(w int) {
			if w == 1 {
				panic("boom")
			}
		})
	}()
	// The pool still works afterwards.
	var n atomic.Int64
	p.Run(func(int) { n.Add(1) })
	if n.Load() != 3 {
		t.Errorf("ran on %d workers after panic", n.Load())
	}
}

func TestParallelFor(t *testing.T) {
	pools := map[string]*Pool{
		"nil": nil,
		"1":   newPool(t, Config{Workers: 1}),
		"2":   newPool(t, Config{Workers: 2}),
		"3":   newPool(t, Config{Workers: 3}),
		"5":   newPool(t, Config{Workers: 5, NoPin: true}),
	}
	scheds := []Schedule{
		{}, {Kind: Static, Chunk: 1}, {Kind: Static, Chunk: 7},
		{Kind: Dynamic}, {Kind: Dynamic, Chunk: 1}, {Kind: Dynamic, Chunk: 64},
		{Kind: Guided}, {Kind: Guided, Chunk: 5},
	}
	for name, p := range pools {
		for _, s := range scheds {
			for _, n := range []int{0, 1, 2, 7, 13, 1000, 4099} {
				hits := make([]int32, n)
				var bad atomic.Int32
				p.ParallelFor(n, s, func(lo, hi, w int) {
					if lo >= hi || w < 0 || w >= p.Workers() {
						bad.Add(1)
					}
					for i := lo; i < hi; i++ {
						atomic.AddInt32(&hits[i], 1)
					}
				})
				if bad.Load() != 0 {
					t.Errorf("pool %s %v n=%d: bad subrange or worker", name, s, n)
				}
				for i, h := range hits {
					if h != 1 {
						t.Errorf("pool %s %v n=%d: index %d visited %d times", name, s, n, i, h)
						break
					}
				}
				// Integer reduction is exact whatever the association.
				sum := ParallelReduce(p, n, s, 0, func(lo, hi, acc int) int {
					for i := lo; i < hi; i++ {
						acc += i
					}
					return acc
				}, func(a, b int) int { return a + b })
				if sum != n*(n-1)/2 {
					t.Errorf("pool %s %v n=%d: reduce = %d", name, s, n, sum)
				}
			}
		}
	}
}

func TestStaticIsDeterministic(t *testing.T) {
	p := newPool(t, Config{Workers: 3})
	owner := make([]int, 100)
	p.ParallelFor(100, Schedule{}, func(lo, hi, w int) {
		for i := lo; i < hi; i++ {
			owner[i] = w
		}
	})
	for i, w := range owner {
		lo, hi := blockRange(100, 3, w)
		if i < lo || i >= hi {
			t.Fatalf("index %d done by worker %d, block [%d,%d)", i, w, lo, hi)
		}
	}
	if lo, hi := blockRange(100, 3, 0); lo != 0 || hi != 34 {
		t.Errorf("block 0 = [%d,%d)", lo, hi)
	}
}

func TestFirstTouchHelpers(t *testing.T) {
	p := newPool(t, Config{Workers: 2, MinGrain: 1})
	x := MakeLocal[float64](p, 1001)
	for i, v := range x {
		if v != 0 {
			t.Fatalf("x[%d] = %v", i, v)
		}
	}
	y := []float64{1, 2, 3}
	FirstTouch(p, y)
	if y[0] != 0 || y[2] != 0 {
		t.Error("FirstTouch did not clear")
	}
	bufs := PerWorker[int32](p, func(w int) int { return 10 * (w + 1) })
	if len(bufs) != 2 || len(bufs[0]) != 10 || len(bufs[1]) != 20 {
		t.Errorf("PerWorker lengths wrong")
	}
}
