package collectives

import (
	"runtime"
	"sync"
)

// Asynchronous progress (comm.Config.AsyncProgress, GORUN_ASYNC_PROGRESS=1,
// WithAsyncProgress): while at least one non-blocking collective that asked
// for it is in flight in this process, the process runs with one more P
// than it had, so that the goroutine running the collective gets an OS
// thread of its own beside the computing goroutine's, as MPICH's
// asynchronous progress thread does. The extra P is taken at the first
// such operation's start and given back when the last one completes, so a
// program that starts its collectives in bursts (a backward pass, a halo
// exchange) pays for two GOMAXPROCS changes per burst (each stops the
// world briefly: the pair cost 80 µs on a loaded 2-core VM,
// BenchmarkAsyncProgressToggle), not per call.

// progress counts the in-flight operations that hold the extra P.
var progress struct {
	mu     sync.Mutex
	n      int // operations in flight that asked for the extra P
	base   int // GOMAXPROCS when the first of them started
	raised int // the value it was raised to (base+1)
}

// progressAcquire notes one more in-flight operation, raising GOMAXPROCS
// by one if it is the first. Safe for concurrent use.
func progressAcquire() {
	progress.mu.Lock()
	defer progress.mu.Unlock()
	progress.n++
	if progress.n == 1 {
		progress.base = runtime.GOMAXPROCS(0)
		progress.raised = progress.base + 1
		runtime.GOMAXPROCS(progress.raised)
	}
}

// progressRelease notes that an operation progressAcquire counted has
// completed, restoring GOMAXPROCS when it was the last. If the program set
// GOMAXPROCS itself meanwhile, its value is kept. Safe for concurrent use.
func progressRelease() {
	progress.mu.Lock()
	defer progress.mu.Unlock()
	progress.n--
	if progress.n == 0 && runtime.GOMAXPROCS(0) == progress.raised {
		runtime.GOMAXPROCS(progress.base)
	}
}

// WithAsyncProgress overrides, for the non-blocking collective it is
// passed to, the communicator's comm.Config.AsyncProgress setting
// (GORUN_ASYNC_PROGRESS): with on, the process holds one extra P
// (runtime.GOMAXPROCS raised by one) from the call until the operation
// completes, shared by all the operations in flight at once; with off it
// does not. Blocking collectives and one-rank communicators ignore it.
//
// The extra P lets the operation advance while the caller computes even
// when the rank has one P (GOMAXPROCS=1, gorun's default when the ranks
// fill the host's CPUs): without it, the operation's goroutine runs only
// when the caller blocks, yields or is preempted. When the rank is bound
// to one CPU the two threads share it, time-sliced by the kernel, which
// runs the progress thread as soon as a message wakes it. While the extra
// P is held, runtime.GOMAXPROCS(0) reports one more; a program that sets
// GOMAXPROCS itself while operations are in flight keeps its own value.
// Raising it sets GOMAXPROCS explicitly, which ends the runtime's
// automatic updates of it (runtime.SetDefaultGOMAXPROCS brings them back).
// The program's own value is recognised by differing from the raised one:
// a program that sets GOMAXPROCS to exactly that value, or sets it while
// the first operation is raising it, has it restored to the value before.
func WithAsyncProgress(on bool) Option {
	return func(c *config) {
		c.async = 1
		if !on {
			c.async = -1
		}
	}
}
