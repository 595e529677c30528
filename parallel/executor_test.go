package parallel_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
	"github.com/gorun-hpc/gorun/kernels"
	"github.com/gorun-hpc/gorun/parallel"
)

var errTask = errors.New("task refused")

type testFuncs struct {
	reg     *parallel.Registry
	add     parallel.Func[[2]int, int]
	fail    parallel.Func[int, int]
	block   parallel.Func[int, int]
	busy    parallel.Func[int, int]
	maxBusy atomic.Int32
	cur     atomic.Int32
	release chan struct{}
}

func newFuncs() *testFuncs {
	f := &testFuncs{reg: parallel.NewRegistry(), release: make(chan struct{})}
	f.add = parallel.Register(f.reg, "add", func(_ context.Context, a [2]int) (int, error) { return a[0] + a[1], nil })
	f.fail = parallel.Register(f.reg, "fail", func(_ context.Context, i int) (int, error) {
		return 0, fmt.Errorf("task %d: %w", i, errTask)
	})
	// block waits for its context or for release.
	f.block = parallel.Register(f.reg, "block", func(ctx context.Context, i int) (int, error) {
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-f.release:
			return i, nil
		}
	})
	// busy records how many tasks run at once on this rank.
	f.busy = parallel.Register(f.reg, "busy", func(_ context.Context, i int) (int, error) {
		n := f.cur.Add(1)
		for {
			m := f.maxBusy.Load()
			if n <= m || f.maxBusy.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(200 * time.Microsecond) // work, not synchronisation
		f.cur.Add(-1)
		return i, nil
	})
	return f
}

func TestExecutor(t *testing.T) {
	for _, np := range nps {
		for _, mode := range []string{"goroutines", "batches", "pool"} {
			t.Run(fmt.Sprintf("np=%d/%s", np, mode), func(t *testing.T) {
				var mu sync.Mutex
				maxBusy := map[int]int32{}
				commtest.Run(t, np, comm.Config{}, func(ctx context.Context, c *comm.Comm) error {
					f := newFuncs()
					cfg := parallel.ExecutorConfig{InFlight: 2}
					switch mode {
					case "batches":
						cfg.Batches = true
					case "pool":
						pool, err := kernels.NewPool(kernels.Config{Workers: 2, NoPin: true})
						if err != nil {
							return err
						}
						defer pool.Close()
						cfg.Pool = pool
					}
					ex, err := parallel.NewExecutor(ctx, c, f.reg, cfg)
					if err != nil {
						return err
					}
					if c.Rank() == 0 {
						if err := drive(ctx, ex, f); err != nil {
							ex.Shutdown(ctx, parallel.Cancel)
							return err
						}
					} else if _, err := parallel.Submit(ctx, ex, f.add, [2]int{1, 2}); !errors.Is(err, parallel.ErrNotClient) {
						return fmt.Errorf("Submit on a worker: %v", err)
					}
					if err := ex.Shutdown(ctx, parallel.Drain); err != nil {
						return err
					}
					mu.Lock()
					maxBusy[c.Rank()] = f.maxBusy.Load()
					mu.Unlock()
					return nil
				})
				for r, m := range maxBusy {
					if m > 2 {
						t.Errorf("rank %d ran %d tasks at once, InFlight is 2", r, m)
					}
				}
			})
		}
	}
}

func drive(ctx context.Context, ex *parallel.Executor, f *testFuncs) error {
	const n = 200
	fs := make([]*parallel.Future[int], n)
	for i := range fs {
		var err error
		if fs[i], err = parallel.Submit(ctx, ex, f.add, [2]int{i, 1000}); err != nil {
			return err
		}
	}
	seen := make([]bool, n)
	count := 0
	for fu, err := range parallel.AsCompleted(ctx, fs) {
		if err != nil {
			return err
		}
		v, err := fu.Wait(ctx)
		if err != nil {
			return err
		}
		select {
		case <-fu.Done():
		default:
			return errors.New("a yielded future is not done")
		}
		if v < 1000 || v >= 1000+n || seen[v-1000] {
			return fmt.Errorf("AsCompleted yielded %d", v)
		}
		seen[v-1000] = true
		count++
	}
	if count != n {
		return fmt.Errorf("AsCompleted yielded %d of %d", count, n)
	}
	args := make([]int, 50)
	for i := range args {
		args[i] = i
	}
	got, err := parallel.MapTasks(ctx, ex, f.busy, args)
	if err != nil {
		return err
	}
	for i, v := range got {
		if v != i {
			return fmt.Errorf("MapTasks[%d] = %d", i, v)
		}
	}
	fu, err := parallel.Submit(ctx, ex, f.fail, 7)
	if err != nil {
		return err
	}
	if _, err := fu.Wait(ctx); err == nil || !contains(err.Error(), "task 7: task refused") {
		return fmt.Errorf("failing task: %v", err)
	}
	_, err = parallel.MapTasks(ctx, ex, f.fail, []int{1, 2})
	var ee *parallel.ElementError
	if !errors.As(err, &ee) || ee.Index != 0 {
		return fmt.Errorf("MapTasks of failing tasks: %v", err)
	}
	return nil
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// A function the workers lack fails its future with ErrUnknownFunc.
func TestExecutorUnknownFunc(t *testing.T) {
	commtest.Run(t, 2, comm.Config{}, func(ctx context.Context, c *comm.Comm) error {
		reg := parallel.NewRegistry()
		var only parallel.Func[int, int]
		if c.Rank() == 0 {
			only = parallel.Register(reg, "client-only", func(_ context.Context, i int) (int, error) { return i, nil })
		}
		ex, err := parallel.NewExecutor(ctx, c, reg, parallel.ExecutorConfig{})
		if err != nil {
			return err
		}
		if c.Rank() == 0 {
			fu, err := parallel.Submit(ctx, ex, only, 1)
			if err != nil {
				return err
			}
			if _, err := fu.Wait(ctx); !errors.Is(err, parallel.ErrUnknownFunc) {
				return fmt.Errorf("want ErrUnknownFunc, got %v", err)
			}
		}
		return ex.Shutdown(ctx, parallel.Drain)
	})
}

// Cancel fails the pending futures with ErrShutdown and cancels the
// running tasks; Submit after Shutdown fails.
func TestExecutorShutdownCancel(t *testing.T) {
	for _, np := range nps {
		t.Run(fmt.Sprint("np=", np), func(t *testing.T) {
			commtest.Run(t, np, comm.Config{}, func(ctx context.Context, c *comm.Comm) error {
				f := newFuncs()
				ex, err := parallel.NewExecutor(ctx, c, f.reg, parallel.ExecutorConfig{InFlight: 3})
				if err != nil {
					return err
				}
				if c.Rank() != 0 {
					return ex.Shutdown(ctx, parallel.Drain)
				}
				var fs []*parallel.Future[int]
				for i := range 3 * max(1, np-1) {
					fu, err := parallel.Submit(ctx, ex, f.block, i)
					if err != nil {
						return err
					}
					fs = append(fs, fu)
				}
				// Every slot is taken: a bounded Submit waits, then gives up.
				short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
				_, err = parallel.Submit(short, ex, f.block, -1)
				cancel()
				if !errors.Is(err, context.DeadlineExceeded) {
					return fmt.Errorf("Submit past the in-flight bound: %v", err)
				}
				if err := ex.Shutdown(ctx, parallel.Cancel); err != nil {
					return err
				}
				for _, fu := range fs {
					if _, err := fu.Wait(ctx); !errors.Is(err, parallel.ErrShutdown) {
						return fmt.Errorf("pending future after Cancel: %v", err)
					}
				}
				if _, err := parallel.Submit(ctx, ex, f.add, [2]int{}); !errors.Is(err, parallel.ErrShutdown) {
					return fmt.Errorf("Submit after Shutdown: %v", err)
				}
				return nil
			})
		})
	}
}

// An abort of the job reaches every pending future as an error.
func TestExecutorAbortFailsPending(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const np = 3
	w, err := commtest.Start(ctx, np, comm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	errs := make([]error, np)
	var wg sync.WaitGroup
	submitted := make(chan struct{})
	for r, c := range w.Comms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := newFuncs()
			ex, err := parallel.NewExecutor(ctx, c, f.reg, parallel.ExecutorConfig{})
			if err != nil {
				errs[r] = err
				return
			}
			if r != 0 {
				ex.Shutdown(ctx, parallel.Drain) // returns the abort
				return
			}
			var fs []*parallel.Future[int]
			for i := range 4 {
				fu, err := parallel.Submit(ctx, ex, f.block, i)
				if err != nil {
					errs[r] = err
					return
				}
				fs = append(fs, fu)
			}
			close(submitted)
			for _, fu := range fs {
				if _, err := fu.Wait(ctx); !errors.Is(err, comm.ErrAborted) {
					errs[r] = fmt.Errorf("pending future after abort: %v", err)
					return
				}
			}
			if err := ex.Shutdown(ctx, parallel.Drain); !errors.Is(err, comm.ErrAborted) {
				errs[r] = fmt.Errorf("Shutdown after abort: %v", err)
			}
		}()
	}
	<-submitted
	w.Store.Set(ctx, "abort", []byte("test abort"))
	wg.Wait()
	for r, err := range errs {
		if err != nil {
			t.Errorf("rank %d: %v", r, err)
		}
	}
}

// A worker that leaves (its communicator closed, as a rank that dies in a
// job run to survive it) has its unfinished tasks run again elsewhere.
//
// Rank 1 closes its communicator while its executor still serves: that
// Close may fail the worker's receive for the next tasks, or drop task
// messages the client sent before it saw rank 1 leave, and says so
// (comm.ErrDropped), as Close does. That, on rank 1 alone, is the point of
// the test, not a failure; any other Close error, or a drop on another
// rank, is.
func TestExecutorWorkerLostRerun(t *testing.T) {
	const np, leaver = 3, 1
	ctx, cancel := context.WithTimeout(context.Background(), commtest.DefaultTimeout)
	defer cancel()
	w, err := commtest.Start(ctx, np, comm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	errs := make([]error, np)
	var wg sync.WaitGroup
	for r, c := range w.Comms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[r] = workerLostRank(ctx, c, leaver)
		}()
	}
	wg.Wait() // every rank's work is bounded by ctx
	failed := false
	for r, err := range errs {
		if err != nil {
			t.Errorf("rank %d/%d: %v", r, np, err)
			failed = true
		}
	}
	if failed {
		w.Store.Set(context.Background(), "abort", []byte("test failed"))
	}
	closed := make(chan struct{})
	go func() { w.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(30 * time.Second):
		t.Fatalf("closing %d ranks did not finish within 30s", np)
	}
	if failed {
		return
	}
	// Close is idempotent: each rank's call returns that rank's result.
	for r, c := range w.Comms {
		err := c.Close()
		if err != nil && !(r == leaver && errors.Is(err, comm.ErrDropped)) {
			t.Errorf("closing rank %d: %v", r, err)
		}
	}
}

// workerLostRank is one rank of TestExecutorWorkerLostRerun: rank leaver
// closes its communicator in its first task and never answers it.
func workerLostRank(ctx context.Context, c *comm.Comm, leaver int) error {
	reg := parallel.NewRegistry()
	left := make(chan struct{})
	var once sync.Once
	task := parallel.Register(reg, "maybe-die", func(ctx context.Context, i int) (int, error) {
		if c.Rank() == leaver {
			once.Do(func() { go c.Close(); close(left) }) // Close waits for the others: it ends in the world's Close
			<-ctx.Done()                                  // never answers
			return 0, ctx.Err()
		}
		return 10 * i, nil
	})
	ex, err := parallel.NewExecutor(ctx, c, reg, parallel.ExecutorConfig{InFlight: 2})
	if err != nil {
		return err
	}
	switch c.Rank() {
	case leaver:
		select {
		case <-left:
		case <-ctx.Done():
			return ctx.Err()
		}
		return nil
	case 0:
	default:
		return ex.Shutdown(ctx, parallel.Drain)
	}
	args := []int{1, 2, 3, 4, 5, 6, 7, 8}
	got, err := parallel.MapTasks(ctx, ex, task, args)
	if err != nil {
		return err
	}
	for i, v := range got {
		if v != 10*args[i] {
			return fmt.Errorf("task %d: %d", i, v)
		}
	}
	return ex.Shutdown(ctx, parallel.Drain)
}

// BenchmarkExecutor measures one task's path through an executor at np 2
// (the client and one worker in this process, over loopback): "roundtrip"
// submits a task and waits for it before the next (latency), "map" runs
// b.N tasks through MapTasks and "ascompleted" submits b.N tasks and
// collects them with AsCompleted (throughput, with back-pressure).
// allocs/op counts both ranks' allocations per task.
func BenchmarkExecutor(b *testing.B) {
	for _, mode := range []string{"goroutines", "batches"} {
		for _, path := range []string{"roundtrip", "map", "ascompleted"} {
			b.Run(mode+"/"+path, func(b *testing.B) {
				b.ReportAllocs()
				commtest.Run(b, 2, comm.Config{}, func(ctx context.Context, c *comm.Comm) error {
					f := newFuncs()
					ex, err := parallel.NewExecutor(ctx, c, f.reg, parallel.ExecutorConfig{Batches: mode == "batches"})
					if err != nil {
						return err
					}
					if !ex.IsClient() {
						return ex.Shutdown(ctx, parallel.Drain)
					}
					b.ResetTimer()
					switch path {
					case "roundtrip":
						for i := range b.N {
							fu, err := parallel.Submit(ctx, ex, f.add, [2]int{i, 1})
							if err != nil {
								return err
							}
							if r, err := fu.Wait(ctx); err != nil || r != i+1 {
								return fmt.Errorf("task %d: %d, %v", i, r, err)
							}
						}
					case "map":
						args := make([][2]int, b.N)
						for i := range args {
							args[i] = [2]int{i, 1}
						}
						rs, err := parallel.MapTasks(ctx, ex, f.add, args)
						if err != nil {
							return err
						}
						for i, r := range rs {
							if r != i+1 {
								return fmt.Errorf("task %d: %d", i, r)
							}
						}
					case "ascompleted":
						fs := make([]*parallel.Future[int], b.N)
						for i := range fs {
							if fs[i], err = parallel.Submit(ctx, ex, f.add, [2]int{i, 1}); err != nil {
								return err
							}
						}
						n := 0
						for fu, err := range parallel.AsCompleted(ctx, fs) {
							if err != nil {
								return err
							}
							if _, err := fu.Wait(ctx); err != nil {
								return err
							}
							n++
						}
						if n != b.N {
							return fmt.Errorf("%d of %d futures", n, b.N)
						}
					}
					b.StopTimer()
					return ex.Shutdown(ctx, parallel.Drain)
				})
			})
		}
	}
}
