package kernels

import (
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

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

// TestPoolWithoutAffinity runs the pool as on macOS and FreeBSD, where
// affinity can be neither read nor set: the zero Config gives one unpinned
// worker per CPU, and the kernels run on it.
func TestPoolWithoutAffinity(t *testing.T) {
	p, err := newPoolOn(Config{MinGrain: 1}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.Workers() != runtime.NumCPU() {
		t.Fatalf("%d workers; want runtime.NumCPU() = %d", p.Workers(), runtime.NumCPU())
	}
	for w, c := range p.CPUs() {
		if c != -1 {
			t.Errorf("worker %d pinned to CPU %d", w, c)
		}
	}
	var ran atomic.Int64
	p.Run(func(int) { ran.Add(1) })
	if ran.Load() != int64(p.Workers()) {
		t.Errorf("Run ran on %d workers; want %d", ran.Load(), p.Workers())
	}
}
