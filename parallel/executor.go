package parallel

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log"
	"runtime"
	"sync"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/kernels"
)

// Registry maps function names to the functions an executor's workers
// run. In an SPMD job every rank builds the same registry at start-up, so
// a task only needs to carry the name and its arguments. A Registry may
// be used from many goroutines.
type Registry struct {
	mu  sync.RWMutex
	fns map[string]regEntry
}

// rawFunc runs a registered function on msgpack args and appends the
// msgpack result to dst.
type rawFunc func(ctx context.Context, args, dst []byte) ([]byte, error)

type regEntry struct {
	name string
	fn   rawFunc
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{fns: map[string]regEntry{}} }

// Func is a registered function taking an A and returning an R; Submit
// and MapTasks take it to name the task and type its argument and result.
type Func[A, R any] struct{ name string }

// Name is the name the function was registered under.
func (f Func[A, R]) Name() string { return f.name }

// Register adds f to reg under name. Arguments and results travel encoded
// with msgpack. It panics if name is empty, longer than 1 KiB or already
// registered: registration happens at start-up, identically on every
// rank, and a clash is a programming error.
func Register[A, R any](reg *Registry, name string, f func(ctx context.Context, a A) (R, error)) Func[A, R] {
	if name == "" || len(name) > maxNameLen {
		panic(fmt.Sprintf("parallel: Register: bad function name %q", name))
	}
	reg.mu.Lock()
	defer reg.mu.Unlock()
	if _, dup := reg.fns[name]; dup {
		panic(fmt.Sprintf("parallel: Register: %q registered twice", name))
	}
	// Arguments decode into pooled values: decoding into a local would
	// move it to the heap on every call.
	args := sync.Pool{New: func() any { return new(A) }}
	reg.fns[name] = regEntry{name, func(ctx context.Context, b, dst []byte) ([]byte, error) {
		pa := args.Get().(*A)
		err := unmarshalValue(b, pa)
		a := *pa
		var zero A
		*pa = zero
		args.Put(pa)
		if err != nil {
			return dst, fmt.Errorf("parallel: %s: decoding the argument into %T: %w", name, a, err)
		}
		r, err := f(ctx, a)
		if err != nil {
			return dst, err
		}
		return appendValue(dst, r)
	}}
	return Func[A, R]{name}
}

func (reg *Registry) lookup(name string) rawFunc {
	reg.mu.RLock()
	defer reg.mu.RUnlock()
	return reg.fns[name].fn
}

// name is the registered name spelt b, or "" if none is.
func (reg *Registry) name(b []byte) string {
	reg.mu.RLock()
	defer reg.mu.RUnlock()
	return reg.fns[string(b)].name
}

// ExecutorConfig configures an executor; its zero value works: rank 0
// submits, every other rank serves, 8 tasks in flight per worker.
type ExecutorConfig struct {
	// Client is the rank that submits tasks (MPIPoolExecutor's master).
	Client int
	// InFlight bounds the tasks sent to one worker and not yet answered
	// (0: 8). Submit blocks while every worker has that many: this is the
	// executor's back-pressure. A worker runs its in-flight tasks
	// concurrently, each in its own goroutine (see Batches).
	InFlight int
	// Batches makes a worker run the tasks of each message it receives
	// (the tasks the client had queued for it) as one batch, on the
	// serving goroutine, or with Pool across the pinned threads of a
	// kernels.Pool (ParallelFor over the batch), and answer the whole
	// batch in one message from the serving goroutine: no goroutine and
	// no hand-off per task, which suits many short tasks. A task that
	// blocks holds up the rest of its batch, and Shutdown with Cancel
	// reaches a worker (cancelling its tasks' context) only once its
	// running batch has ended. Setting Pool implies
	// Batches. The pool is only used, not closed, and must not be running
	// another operation for long (its operations run one at a time).
	Batches bool
	Pool    *kernels.Pool
}

// ShutdownMode says what Shutdown does with unfinished tasks.
type ShutdownMode byte

const (
	// Drain waits for every submitted task to finish.
	Drain ShutdownMode = 1
	// Cancel fails every unfinished future with ErrShutdown and cancels
	// the context of the tasks the workers are running.
	Cancel ShutdownMode = 2
)

const tagExec = 1

// Executor runs registered functions on worker ranks for a client rank,
// like concurrent.futures' executors and mpi4py's MPIPoolExecutor. Every
// rank of the communicator creates it (NewExecutor) and ends it
// (Shutdown); only the client submits. With one rank the client runs the
// tasks itself, in goroutines.
//
// A worker rank lost with ErrPeerLost or ErrPeerFinalized (in a job run so
// that the others survive) has its unfinished tasks sent again to the
// remaining workers; when none remains, they fail with ErrNoWorkers. Any
// other fault (an abort, ctx ending) fails every pending future with it.
//
// An Executor may be used from many goroutines.
type Executor struct {
	c        *comm.Comm // the executor's own communicator
	reg      *Registry
	client   int
	inFlight int
	batches  bool
	pool     *kernels.Pool
	isClient bool
	runCtx   context.Context
	stopRun  context.CancelFunc

	// client
	mu       sync.Mutex
	freed    chan struct{} // closed and replaced when a slot frees and someone waits
	waiters  int           // goroutines waiting on freed
	workers  []*execWorker
	nextID   uint64
	closed   bool
	broken   error // a fault that failed the executor
	pending  int   // tasks submitted and not finished
	local    chan struct{}
	locals   map[*task]bool // tasks running on a client without workers
	localWG  sync.WaitGroup
	recvWG   sync.WaitGroup
	stopOnce sync.Once

	// worker
	served   chan struct{}
	serveErr error
}

type execWorker struct {
	rank     int
	alive    bool
	inflight map[uint64]*task
	out      *outbox
}

type task struct {
	id     uint64
	name   string
	args   []byte
	worker int

	mu       sync.Mutex
	done     chan struct{} // made on demand (doneChan), closed by finish
	finished bool
	result   []byte
	err      error
	watchers []chan<- *task
	future   any
}

func (t *task) finish(result []byte, err error) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.finished {
		return false
	}
	t.finished, t.result, t.err = true, result, err
	if t.done != nil {
		close(t.done)
	}
	for _, w := range t.watchers {
		w <- t
	}
	t.watchers = nil
	return true
}

// closedChan is the Done channel of a task that finished before anyone
// asked for one.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// doneChan is closed when t finishes.
func (t *task) doneChan() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done == nil {
		if t.finished {
			return closedChan
		}
		t.done = make(chan struct{})
	}
	return t.done
}

// isFinished reports whether t has finished; its result and err may be
// read once it has.
func (t *task) isFinished() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.finished
}

// NewExecutor starts an executor over the ranks of c. It is collective:
// every rank calls it with the same configuration and registry contents.
// On the client it returns at once; on a worker it starts serving tasks in
// the background until the client's Shutdown. ctx bounds the executor's
// whole life. A bad configuration is an error wrapping
// comm.ErrInvalidArgument or comm.ErrInvalidRank.
func NewExecutor(ctx context.Context, c *comm.Comm, reg *Registry, cfg ExecutorConfig) (*Executor, error) {
	if cfg.Client < 0 || cfg.Client >= c.Size() {
		return nil, invalidRank("NewExecutor", "client", cfg.Client, c.Size())
	}
	if cfg.InFlight < 0 {
		return nil, invalid("NewExecutor", "InFlight = %d, want ≥ 0", cfg.InFlight)
	}
	if reg == nil {
		return nil, invalid("NewExecutor", "nil registry")
	}
	if cfg.InFlight == 0 {
		cfg.InFlight = 8
	}
	run, stop := context.WithCancel(ctx)
	ex := &Executor{c: c.Dup(), reg: reg, client: cfg.Client, inFlight: cfg.InFlight,
		batches: cfg.Batches || cfg.Pool != nil, pool: cfg.Pool,
		isClient: c.Rank() == cfg.Client, runCtx: run, stopRun: stop, freed: make(chan struct{})}
	if !ex.isClient {
		ex.served = make(chan struct{})
		go ex.serve()
		return ex, nil
	}
	if c.Size() == 1 {
		ex.local = make(chan struct{}, cfg.InFlight)
		ex.locals = map[*task]bool{}
		return ex, nil
	}
	for r := range c.Size() {
		if r == cfg.Client {
			continue
		}
		w := &execWorker{rank: r, alive: true, inflight: map[uint64]*task{}}
		w.out = newOutbox(run, ex.c, r, func(err error) { ex.lost(r, err) })
		ex.workers = append(ex.workers, w)
		ex.recvWG.Add(1)
		go ex.receive(w)
	}
	return ex, nil
}

// IsClient reports whether this rank submits tasks.
func (ex *Executor) IsClient() bool { return ex.isClient }

// Future is the pending result of a submitted task. Its methods may be
// called from many goroutines.
type Future[R any] struct {
	t    *task
	task task // t points here
	once sync.Once
	val  R
	err  error
}

// Done is closed when the task has finished (with a result or an error).
func (f *Future[R]) Done() <-chan struct{} { return f.t.doneChan() }

// Wait returns the task's result once it has finished, or ctx's error if
// ctx ends first (the task goes on). A task whose function failed returns
// its error (as text, wrapped; ErrUnknownFunc if the worker had no such
// function); a task that could not finish returns the fault, ErrShutdown
// or ErrNoWorkers.
func (f *Future[R]) Wait(ctx context.Context) (R, error) {
	if !f.t.isFinished() {
		select {
		case <-f.t.doneChan():
		case <-ctx.Done():
			var zero R
			return zero, ctx.Err()
		}
	}
	f.once.Do(func() {
		if f.t.err != nil {
			f.err = f.t.err
			return
		}
		if err := unmarshalValue(f.t.result, &f.val); err != nil {
			f.err = fmt.Errorf("parallel: task %s: decoding the result into %T: %w", f.t.name, f.val, err)
		}
	})
	return f.val, f.err
}

// Submit sends a call of fn with argument a to a worker and returns its
// future. It blocks while every worker has ExecutorConfig.InFlight tasks
// unanswered, until one answers or ctx ends (ctx bounds only the wait,
// not the task). It fails with ErrNotClient on a worker rank, ErrShutdown
// after Shutdown, ErrNoWorkers when every worker is lost, or the fault
// that broke the executor.
func Submit[A, R any](ctx context.Context, ex *Executor, fn Func[A, R], a A) (*Future[R], error) {
	if !ex.isClient {
		return nil, fmt.Errorf("parallel: Submit on rank %d: %w", ex.c.Rank(), ErrNotClient)
	}
	args, err := marshalValue(a)
	if err != nil {
		return nil, fmt.Errorf("parallel: Submit %s: encoding %T: %w", fn.name, a, err)
	}
	f := &Future[R]{task: task{name: fn.name, args: args}}
	t := &f.task
	f.t, t.future = t, f
	if err := ex.start(ctx, t); err != nil {
		return nil, err
	}
	return f, nil
}

// start assigns t to the least loaded live worker with a free slot
// (waiting for one) and sends it.
func (ex *Executor) start(ctx context.Context, t *task) error {
	if ex.local != nil {
		return ex.runLocal(ctx, t)
	}
	for {
		ex.mu.Lock()
		if err := ex.refuse(); err != nil {
			ex.mu.Unlock()
			return err
		}
		var best *execWorker
		for _, w := range ex.workers {
			if w.alive && len(w.inflight) < ex.inFlight && (best == nil || len(w.inflight) < len(best.inflight)) {
				best = w
			}
		}
		if best == nil {
			freed := ex.freed
			ex.waiters++
			ex.mu.Unlock()
			var err error
			select {
			case <-freed:
			case <-ctx.Done():
				err = ctx.Err()
			}
			ex.mu.Lock()
			ex.waiters--
			ex.mu.Unlock()
			if err != nil {
				return err
			}
			continue
		}
		ex.nextID++
		t.id, t.worker = ex.nextID, best.rank
		best.inflight[t.id] = t
		ex.pending++
		ex.mu.Unlock()
		ex.send(best, t)
		return nil
	}
}

// refuse says why no task may start now (ex.mu held).
func (ex *Executor) refuse() error {
	switch {
	case ex.broken != nil:
		return ex.broken
	case ex.closed:
		return ErrShutdown
	}
	for _, w := range ex.workers {
		if w.alive {
			return nil
		}
	}
	return ErrNoWorkers
}

// send queues t for worker w; w's outbox sends it (and reports a failed
// send to lost, which sends the worker's tasks elsewhere or fails them).
func (ex *Executor) send(w *execWorker, t *task) {
	w.out.put(&frame{kind: kindTask, id: t.id, name: t.name, payload: t.args}, false)
}

func (ex *Executor) runLocal(ctx context.Context, t *task) error {
	ex.mu.Lock()
	err := ex.refuse0()
	if err == nil {
		ex.pending++
		ex.localWG.Add(1)
		ex.locals[t] = true
	}
	ex.mu.Unlock()
	if err != nil {
		return err
	}
	select {
	case ex.local <- struct{}{}:
	case <-ctx.Done():
		ex.settle(t, nil, ctx.Err())
		ex.localWG.Done()
		return ctx.Err()
	}
	go func() {
		defer ex.localWG.Done()
		defer func() { <-ex.local }()
		res, err := ex.call(ex.runCtx, t.name, t.args)
		ex.settle(t, res, err)
	}()
	return nil
}

// refuse0 is refuse for the local executor (no workers).
func (ex *Executor) refuse0() error {
	if ex.broken != nil {
		return ex.broken
	}
	if ex.closed {
		return ErrShutdown
	}
	return nil
}

// call runs a registered function by name.
func (ex *Executor) call(ctx context.Context, name string, args []byte) ([]byte, error) {
	fn := ex.reg.lookup(name)
	if fn == nil {
		return nil, fmt.Errorf("%w %q", ErrUnknownFunc, name)
	}
	return fn(ctx, args, nil)
}

// settle finishes t and releases its slot.
func (ex *Executor) settle(t *task, res []byte, err error) {
	if ex.settleQuiet(t, res, err) {
		ex.wakeWaiters()
	}
}

// settleQuiet is settle without waking the goroutines waiting for a
// slot (wakeWaiters does, once for many settles); it reports whether it
// finished t.
func (ex *Executor) settleQuiet(t *task, res []byte, err error) bool {
	if err != nil {
		err = fmt.Errorf("parallel: task %s: %w", t.name, err)
	}
	if !t.finish(res, err) {
		return false
	}
	ex.mu.Lock()
	if ex.locals != nil {
		delete(ex.locals, t)
	}
	ex.pending--
	ex.mu.Unlock()
	return true
}

// wakeWaiters wakes the goroutines waiting for a free slot, if any.
func (ex *Executor) wakeWaiters() {
	ex.mu.Lock()
	if ex.waiters > 0 {
		close(ex.freed)
		ex.freed = make(chan struct{})
	}
	ex.mu.Unlock()
}

// receive takes worker w's answers until its bye or a fault.
func (ex *Executor) receive(w *execWorker) {
	defer ex.recvWG.Done()
	var fs []frame
	for {
		b, _, err := ex.c.RecvAlloc(ex.runCtx, w.rank, tagExec)
		if err != nil {
			ex.lost(w.rank, err)
			return
		}
		fs, err = decodeBatch(fs, b, nil)
		if err != nil {
			log.Printf("parallel: executor: refused a message from rank %d: %v", w.rank, err)
			continue
		}
		settled := false
		for _, f := range fs {
			switch f.kind {
			case kindBye:
				ex.mu.Lock()
				w.alive = false
				ex.mu.Unlock()
				if settled {
					ex.wakeWaiters()
				}
				return
			case kindResult:
			default:
				log.Printf("parallel: executor: refused a frame of kind %#x from rank %d", f.kind, w.rank)
				continue
			}
			ex.mu.Lock()
			t := w.inflight[f.id]
			delete(w.inflight, f.id)
			ex.mu.Unlock()
			if t == nil {
				continue // dropped by a cancelling Shutdown
			}
			var ok bool
			switch f.status {
			case resultOK:
				ok = ex.settleQuiet(t, f.payload, nil)
			case resultErr:
				ok = ex.settleQuiet(t, nil, &remoteError{string(f.payload)})
			default:
				ok = ex.settleQuiet(t, nil, fmt.Errorf("%w %q on rank %d", ErrUnknownFunc, t.name, w.rank))
			}
			settled = settled || ok
		}
		if settled {
			ex.wakeWaiters()
		}
		// Let the goroutines waiting for these results run before this
		// one polls for the next message (a rank bound to one CPU has
		// one P).
		runtime.Gosched()
	}
}

// lost handles a fault on worker rank's link: a lost or finalized worker's
// tasks go to the others; any other fault breaks the executor.
func (ex *Executor) lost(rank int, cause error) {
	ex.mu.Lock()
	var w *execWorker
	for _, x := range ex.workers {
		if x.rank == rank {
			w = x
		}
	}
	if w == nil || !w.alive {
		ex.mu.Unlock()
		return
	}
	w.alive = false
	orphans := make([]*task, 0, len(w.inflight))
	for _, t := range w.inflight {
		orphans = append(orphans, t)
	}
	w.inflight = map[uint64]*task{}
	survivable := errors.Is(cause, comm.ErrPeerLost) || errors.Is(cause, comm.ErrPeerFinalized)
	var others []*execWorker
	for _, x := range ex.workers {
		if x.alive {
			others = append(others, x)
		}
	}
	if !survivable && ex.broken == nil && ex.runCtx.Err() == nil {
		ex.broken = fmt.Errorf("parallel: executor: worker rank %d: %w", rank, cause)
	}
	type move struct {
		w *execWorker
		t *task
	}
	var resend []move
	if survivable && len(others) > 0 && ex.broken == nil {
		for i, t := range orphans {
			o := others[i%len(others)]
			t.worker = o.rank
			o.inflight[t.id] = t
			resend = append(resend, move{o, t})
		}
		orphans = nil
	}
	broken := ex.broken
	var failAll []*task
	if broken != nil {
		for _, x := range ex.workers {
			for id, t := range x.inflight {
				failAll = append(failAll, t)
				delete(x.inflight, id)
			}
		}
	}
	ex.mu.Unlock()
	for _, m := range resend {
		ex.send(m.w, m.t)
	}
	why := error(nil)
	if broken != nil {
		why = broken
	} else {
		why = fmt.Errorf("%w (rank %d: %v)", ErrNoWorkers, rank, cause)
	}
	for _, t := range append(orphans, failAll...) {
		ex.settle(t, nil, why)
	}
	ex.wake()
}

func (ex *Executor) wake() {
	ex.mu.Lock()
	close(ex.freed)
	ex.freed = make(chan struct{})
	ex.mu.Unlock()
}

// drained waits until no task is pending (Drain), or ctx ends.
func (ex *Executor) drained(ctx context.Context) error {
	for {
		ex.mu.Lock()
		if ex.pending == 0 {
			ex.mu.Unlock()
			return nil
		}
		freed := ex.freed
		ex.waiters++
		ex.mu.Unlock()
		var err error
		select {
		case <-freed:
		case <-ctx.Done():
			err = ctx.Err()
		}
		ex.mu.Lock()
		ex.waiters--
		ex.mu.Unlock()
		if err != nil {
			return err
		}
	}
}

// serve is a worker's loop: run each task in a goroutine, answer through
// the outbox (results batch up), and say bye after the client's stop.
func (ex *Executor) serve() {
	defer close(ex.served)
	taskCtx, cancelTasks := context.WithCancel(ex.runCtx)
	defer cancelTasks()
	var errMu sync.Mutex
	fail := func(err error) {
		errMu.Lock()
		if ex.serveErr == nil {
			ex.serveErr = fmt.Errorf("parallel: executor worker %d: %w", ex.c.Rank(), err)
		}
		errMu.Unlock()
	}
	out := newOutbox(ex.runCtx, ex.c, ex.client, fail)
	if ex.batches {
		ex.serveBatches(taskCtx, cancelTasks, out, fail)
		return
	}
	var running sync.WaitGroup
	var fs []frame
	for {
		b, _, err := ex.c.RecvAlloc(ex.runCtx, ex.client, tagExec)
		if err != nil {
			cancelTasks()
			running.Wait()
			fail(err)
			return
		}
		fs, err = decodeBatch(fs, b, ex.reg.name)
		if err != nil {
			log.Printf("parallel: executor worker %d: refused a message: %v", ex.c.Rank(), err)
			continue
		}
		for _, f := range fs {
			switch f.kind {
			case kindTask:
			case kindStop:
				if ShutdownMode(f.mode) == Cancel {
					cancelTasks()
				}
				running.Wait()
				out.put(&frame{kind: kindBye}, true)
				<-out.done
				return
			default:
				log.Printf("parallel: executor worker %d: refused a frame of kind %#x", ex.c.Rank(), f.kind)
				continue
			}
			running.Add(1)
			go ex.serveTask(taskCtx, out, &running, f.id, f.name, f.payload)
		}
		// Let the tasks (and the outbox) run before polling for more: a
		// rank bound to one CPU has one P.
		runtime.Gosched()
	}
}

// resultBufs holds the buffers a worker's task goroutines encode their
// results into before the outbox copies them out.
var resultBufs = sync.Pool{New: func() any { return new([]byte) }}

// serveTask runs a task in its own goroutine (serve's) and puts its
// result in out.
func (ex *Executor) serveTask(ctx context.Context, out *outbox, running *sync.WaitGroup, id uint64, name string, args []byte) {
	defer running.Done()
	bp := resultBufs.Get().(*[]byte)
	res := ex.runTask(ctx, id, name, args, (*bp)[:0])
	out.put(&res, false)
	if cap(res.payload) <= maxPooledBuf {
		*bp = res.payload
		resultBufs.Put(bp)
	}
}

// runTask runs task id, the registered function name on args, and
// returns its result frame, whose payload (the msgpack result or the
// error's text) is appended to dst.
func (ex *Executor) runTask(ctx context.Context, id uint64, name string, args, dst []byte) frame {
	res := frame{kind: kindResult, id: id, status: resultOK}
	if fn := ex.reg.lookup(name); fn == nil {
		res.status, res.payload = resultUnknown, dst
	} else if r, err := fn(ctx, args, dst); err != nil {
		res.status, res.payload = resultErr, append(r[:0], err.Error()...)
	} else {
		res.payload = r
	}
	return res
}

// serveBatches is serve with ExecutorConfig.Batches: the tasks of each
// message run together (on the pool, if any), and their results go back
// in one message sent from this goroutine; the outbox only says bye.
func (ex *Executor) serveBatches(taskCtx context.Context, cancelTasks context.CancelFunc, out *outbox, fail func(error)) {
	var fs, tasks, results []frame
	var buf, scratch []byte
	run := func() error {
		if len(tasks) == 0 {
			return nil
		}
		results = grow(results, len(tasks))
		ex.pool.ParallelFor(len(tasks), kernels.Schedule{}, func(lo, hi, _ int) {
			for i := lo; i < hi; i++ {
				f := &tasks[i]
				results[i] = ex.runTask(taskCtx, f.id, f.name, f.payload, results[i].payload[:0])
			}
		})
		buf = buf[:0]
		for i := range results {
			buf, scratch = appendFramed(buf, scratch, &results[i])
		}
		tasks = tasks[:0]
		return comm.Send(ex.runCtx, ex.c, buf, ex.client, tagExec)
	}
	for {
		b, _, err := ex.c.RecvAlloc(ex.runCtx, ex.client, tagExec)
		if err != nil {
			cancelTasks()
			fail(err)
			return
		}
		fs, err = decodeBatch(fs, b, ex.reg.name)
		if err != nil {
			log.Printf("parallel: executor worker %d: refused a message: %v", ex.c.Rank(), err)
			continue
		}
		for _, f := range fs {
			switch f.kind {
			case kindTask:
				tasks = append(tasks, f)
			case kindStop:
				if ShutdownMode(f.mode) == Cancel {
					cancelTasks()
				}
				if err := run(); err != nil {
					fail(err)
					return
				}
				out.put(&frame{kind: kindBye}, true)
				<-out.done
				return
			default:
				log.Printf("parallel: executor worker %d: refused a frame of kind %#x", ex.c.Rank(), f.kind)
			}
		}
		if err := run(); err != nil {
			fail(err)
			return
		}
	}
}

// Shutdown ends the executor; every rank calls it. On the client it stops
// new submissions (ErrShutdown), then with Drain waits for every pending
// task, or with Cancel fails every pending future with ErrShutdown and
// cancels the tasks running on the workers; it then stops the workers and
// waits for them. On a worker it waits until the client has stopped it.
// If ctx ends first, Shutdown cancels whatever is left and returns ctx's
// error. It returns the fault that broke the executor, if any. Later
// calls return nil.
func (ex *Executor) Shutdown(ctx context.Context, mode ShutdownMode) error {
	if mode != Drain && mode != Cancel {
		return invalid("Shutdown", "mode %d, want Drain or Cancel", mode)
	}
	first := false
	ex.stopOnce.Do(func() { first = true })
	if !first {
		return nil
	}
	defer ex.stopRun()
	if !ex.isClient {
		select {
		case <-ex.served:
			return ex.serveErr
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	ex.mu.Lock()
	ex.closed = true
	ex.mu.Unlock()
	if mode == Drain {
		if err := ex.drained(ctx); err != nil {
			ex.cancelPending()
			ex.stopRun()
			return err
		}
	} else {
		ex.cancelPending()
	}
	if ex.local != nil {
		if mode == Cancel {
			ex.stopRun()
		}
		ex.localWG.Wait()
		ex.mu.Lock()
		defer ex.mu.Unlock()
		return ex.broken
	}
	ex.mu.Lock()
	var live []*execWorker
	for _, w := range ex.workers {
		if w.alive {
			live = append(live, w)
		}
	}
	broken := ex.broken
	ex.mu.Unlock()
	if broken == nil {
		for _, w := range live {
			w.out.put(&frame{kind: kindStop, mode: byte(mode)}, true)
		}
	} else {
		ex.stopRun()
	}
	done := make(chan struct{})
	go func() { ex.recvWG.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		ex.stopRun()
		<-done
		return ctx.Err()
	}
	ex.mu.Lock()
	defer ex.mu.Unlock()
	return ex.broken
}

// cancelPending fails every unfinished task with ErrShutdown.
func (ex *Executor) cancelPending() {
	ex.mu.Lock()
	var all []*task
	for _, w := range ex.workers {
		for id, t := range w.inflight {
			all = append(all, t)
			delete(w.inflight, id)
		}
	}
	for t := range ex.locals {
		all = append(all, t)
	}
	ex.mu.Unlock()
	for _, t := range all {
		ex.settle(t, nil, ErrShutdown)
	}
	if ex.local != nil {
		ex.stopRun()
	}
}

// AsCompleted yields the futures of fs as they finish, like
// concurrent.futures.as_completed, each once. If ctx ends first it yields
// (nil, ctx.Err()) and stops. It may be called from any goroutine.
func AsCompleted[R any](ctx context.Context, fs []*Future[R]) iter.Seq2[*Future[R], error] {
	return func(yield func(*Future[R], error) bool) {
		ch := make(chan *task, len(fs))
		for _, f := range fs {
			t := f.t
			t.mu.Lock()
			if t.finished {
				ch <- t
			} else {
				t.watchers = append(t.watchers, ch)
			}
			t.mu.Unlock()
		}
		for range fs {
			select {
			case t := <-ch:
				if !yield(t.future.(*Future[R]), nil) {
					return
				}
			case <-ctx.Done():
				yield(nil, ctx.Err())
				return
			}
		}
	}
}

// MapTasks submits fn over every argument (with Submit's back-pressure)
// and returns the results in argument order, like Executor.map. The first
// failing task, in argument order, ends the call with an *ElementError
// naming its index (the other tasks still run to completion on the
// workers). Only the client may call it (ErrNotClient).
func MapTasks[A, R any](ctx context.Context, ex *Executor, fn Func[A, R], args []A) ([]R, error) {
	fs := make([]*Future[R], 0, len(args))
	for _, a := range args {
		f, err := Submit(ctx, ex, fn, a)
		if err != nil {
			return nil, err
		}
		fs = append(fs, f)
	}
	out := make([]R, len(args))
	for i, f := range fs {
		r, err := f.Wait(ctx)
		if err != nil {
			return nil, &ElementError{Index: i, Rank: f.t.worker, Err: err}
		}
		out[i] = r
	}
	return out, nil
}
