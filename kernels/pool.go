package kernels

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/gorun-hpc/gorun/kernels/affinity"
)

// Config configures [NewPool]. The zero value gives one pinned worker per
// CPU that the calling thread may run on.
type Config struct {
	// Workers is the number of worker threads; 0 means one per CPU of
	// CPUs. More workers than CPUs are pinned round-robin
	// (oversubscribed).
	Workers int
	// CPUs is the set to pin workers to, worker i to the i-th CPU; nil
	// means the calling thread's affinity (the rank's binding, see
	// kernels/affinity).
	CPUs affinity.CPUSet
	// NoPin leaves the worker threads unpinned (they are still locked
	// to their own OS threads). For comparisons in benchmarks.
	NoPin bool
	// MinGrain tunes when the vector kernels go parallel: vectors shorter
	// than 2·MinGrain elements run on the calling goroutine, where the
	// cost of waking workers would dominate. 0 means 4096; 1 means
	// always parallel (except length 0 and 1).
	MinGrain int
}

const defaultMinGrain = 4096

// Pool is a fixed set of worker goroutines, each locked to its own OS
// thread and (unless Config.NoPin) pinned to one CPU.
//
// Concurrency: a Pool may be used from many goroutines; its parallel
// operations (Run, ParallelFor, ParallelReduce and the kernels) are executed
// one at a time, in the order their callers acquire the pool. A body running
// on a worker must not start another operation on the same pool (it would
// deadlock). Close may be called at any time after operations have returned.
type Pool struct {
	workers  []*worker
	cpus     []int // per worker; -1 when unpinned
	minGrain int

	mu     sync.Mutex // serializes operations
	job    func(w int)
	done   sync.WaitGroup
	panicV atomic.Pointer[panicValue]

	closeOnce sync.Once
	closed    atomic.Bool
	exited    sync.WaitGroup
}

type worker struct {
	start chan struct{}
	tid   int
}

type panicValue struct{ v any }

// NewPool starts the workers of a pool. It fails when the CPU set cannot be
// determined or a worker cannot be pinned (for example a CPU outside the
// process's allowed set). The caller must Close the pool.
func NewPool(cfg Config) (*Pool, error) { return newPoolOn(cfg, affinity.Supported) }

// newPoolOn is NewPool with the answer of affinity.Supported as an argument,
// so that tests on Linux cover the path of systems without binding.
func newPoolOn(cfg Config, canPin bool) (*Pool, error) {
	if cfg.Workers < 0 {
		panic("kernels: negative worker count")
	}
	cpus := cfg.CPUs
	if cpus.IsEmpty() && !canPin {
		// No affinity to read or set (macOS, FreeBSD): one unpinned
		// worker per CPU.
		cpus = make(affinity.CPUSet, runtime.NumCPU())
		for i := range cpus {
			cpus[i] = i
		}
		cfg.NoPin = true
	}
	if cpus.IsEmpty() {
		runtime.LockOSThread()
		cur, err := affinity.Current()
		runtime.UnlockOSThread()
		if err != nil {
			return nil, fmt.Errorf("kernels: %w", err)
		}
		cpus = cur
	}
	n := cfg.Workers
	if n == 0 {
		n = cpus.Len()
	}
	p := &Pool{minGrain: cfg.MinGrain, cpus: make([]int, n), workers: make([]*worker, n)}
	if p.minGrain <= 0 {
		p.minGrain = defaultMinGrain
	}
	errs := make(chan error, n)
	for i := range n {
		cpu := -1
		if !cfg.NoPin {
			cpu = cpus[i%cpus.Len()]
		}
		p.cpus[i] = cpu
		w := &worker{start: make(chan struct{}, 1)}
		p.workers[i] = w
		p.exited.Add(1)
		go p.loop(i, w, cpu, errs)
	}
	var firstErr error
	for range n {
		if err := <-errs; err != nil && firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		p.Close()
		return nil, firstErr
	}
	return p, nil
}

// loop is a worker's goroutine. It keeps its OS thread locked until it
// returns, so the runtime discards the (pinned) thread rather than reusing
// it for other goroutines.
func (p *Pool) loop(id int, w *worker, cpu int, errs chan<- error) {
	defer p.exited.Done()
	runtime.LockOSThread()
	w.tid = gettid()
	if cpu >= 0 {
		if err := affinity.ApplyThread(affinity.CPUSet{cpu}); err != nil {
			errs <- fmt.Errorf("kernels: pin worker %d: %w", id, err)
			for range w.start { // wait for Close
			}
			return
		}
	}
	errs <- nil
	for range w.start {
		p.runJob(id)
		p.done.Done()
	}
}

func (p *Pool) runJob(id int) {
	defer func() {
		if r := recover(); r != nil {
			p.panicV.CompareAndSwap(nil, &panicValue{r})
		}
	}()
	p.job(id)
}

// Workers returns the number of workers; 1 for a nil pool.
func (p *Pool) Workers() int {
	if p == nil {
		return 1
	}
	return len(p.workers)
}

// CPUs returns the CPU each worker is pinned to, by worker index (-1 for an
// unpinned worker). The slice is a copy.
func (p *Pool) CPUs() []int {
	if p == nil {
		return []int{-1}
	}
	return append([]int(nil), p.cpus...)
}

// Run calls fn(w) once on every worker w (0 ≤ w < Workers()) concurrently
// and returns when all calls have returned. If a call panics, Run panics in
// the caller with the first recovered value after all workers are done.
// On a nil pool Run calls fn(0) on the calling goroutine.
func (p *Pool) Run(fn func(worker int)) {
	if p == nil {
		fn(0)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed.Load() {
		panic("kernels: pool used after Close")
	}
	p.job = fn
	p.done.Add(len(p.workers))
	for _, w := range p.workers {
		w.start <- struct{}{}
	}
	p.done.Wait()
	p.job = nil
	if pv := p.panicV.Swap(nil); pv != nil {
		panic(pv.v)
	}
}

// Close stops the workers and waits until their goroutines (and pinned
// threads) are gone. It is idempotent and safe to call concurrently; it
// waits for a running operation to finish.
func (p *Pool) Close() {
	if p == nil {
		return
	}
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed.Store(true)
		for _, w := range p.workers {
			if w != nil {
				close(w.start)
			}
		}
		p.mu.Unlock()
	})
	p.exited.Wait()
}
