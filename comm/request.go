package comm

import (
	"context"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
)

type reqKind uint8

const (
	kindSend reqKind = iota + 1
	kindRecv
)

// Request is a pending non-blocking operation. Complete it with Wait (or
// Test until it reports done). A Request may be waited on from several
// goroutines; once complete, Wait returns the same result every time.
// Requests always complete: if the peer involved is lost, the request fails
// with ErrPeerLost, and when the job aborts, with ErrAborted. A call that
// made the request with a bad rank or tag returns it completed with an
// error wrapping ErrInvalidRank or ErrInvalidTag. The methods take no
// argument that could be bad; called on a nil *Request they panic.
type Request struct {
	e    *engine
	c    *Comm
	kind reqKind
	fin  atomic.Bool
	// private: completed by finishPrivate, before any other goroutine
	// could see the request, so release need not take mu.
	private bool
	mu      sync.Mutex
	done    chan struct{} // made on demand (doneChan): most requests never park
	// wake holds a token from completion on, for Wait; unlike done it is
	// kept when the request is recycled (see release), so that a parked
	// Wait allocates nothing. Made on demand, under mu.
	wake chan struct{}

	status Status
	err    error

	// message identity: for a receive, what it accepts (src may be
	// AnySource, tag AnyTag); for a send, where it goes. Ranks are world
	// ranks.
	ctx  uint64
	peer int
	tag  int32

	buf   []byte // send payload, or receive buffer
	alloc bool   // receive: allocate buf at the message's size

	// rendezvous state
	id       uint64       // a large send's id in its RTS, a large receive's in its CTS
	total    int          // receive: full message size
	got      int          // receive: bytes that arrived so far (reader-owned)
	from     int          // receive: world rank of the matched sender
	pollPeer atomic.Int32 // the link a waiter polls (see engine.startPoll)
	// receiving: a data chunk is being read into buf; detached: the
	// receive failed, later chunks are discarded (both under engine.mu).
	receiving bool
	detached  error
	// withdrawal of a large send (under engine.mu): rtsSent, the RTS is
	// written; wdone, made by a withdrawal and closed once the receiver
	// gave the RTS back (withdrawn) or a CTS came; withdrawErr, what the
	// send fails with once withdrawn (nil: ErrCanceled).
	rtsSent     bool
	wdone       chan struct{}
	withdrawn   bool
	withdrawErr error
	userTag     int    // the tag as asked for, for errors
	userPeer    int    // the comm rank as asked for, for errors
	call        string // the call that made it ("Recv", "Isend", ...), for reports (observe.go)
}

func (r *Request) finish(st Status, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fin.Load() {
		return
	}
	r.status, r.err = st, err
	r.fin.Store(true)
	obsProgress.Add(1)
	if r.done != nil {
		close(r.done)
	}
	if r.wake != nil {
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
}

// finishPrivate completes a request that no other goroutine can have seen
// yet: an eager send that isend wrote before returning it. Nobody can be
// waiting, so there is nothing to wake and mu need not be taken; release
// skips it too. It saves two lock round trips on every small send.
func (r *Request) finishPrivate(err error) {
	r.err = err
	r.private = true
	r.fin.Store(true)
	obsProgress.Add(1)
}

// doneChan returns the channel closed at completion, making it if needed.
func (r *Request) doneChan() chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done == nil {
		r.done = make(chan struct{})
		if r.fin.Load() {
			close(r.done)
		}
	}
	return r.done
}

func (r *Request) result() (Status, error) {
	if r.kind == kindGeneral { // hook: see StartRequest (grequest.go)
		return r.status, r.err
	}
	op := "send to"
	if r.kind == kindRecv {
		op = "receive from"
	}
	return r.status, opError(op, r.userPeer, r.userTag, r.err)
}

// Done returns a channel that is closed when the request completes.
func (r *Request) Done() <-chan struct{} { return r.doneChan() }

// Test reports whether the request has completed and, if so, its result.
// It never blocks. Like MPI_Test, a Test that finds the request pending
// makes progress: it takes what has arrived on the link the request
// depends on and lets the link readers run, so that a loop of Tests
// completes the request soon after its message is there, even on a rank
// with one P (GOMAXPROCS=1, gorun's default for a bound rank; over TCP,
// see progress for the one case where it can take up to about 10 ms).
func (r *Request) Test() (bool, Status, error) {
	if !r.fin.Load() {
		r.e.progress(int(r.pollPeer.Load()))
		if !r.fin.Load() {
			return false, Status{}, nil
		}
	}
	st, err := r.result()
	return true, st, err
}

// Wait blocks until the request completes or ctx ends. When ctx ends first,
// Wait returns ctx's error and the request stays pending: wait again, or
// Cancel it.
func (r *Request) Wait(ctx context.Context) (Status, error) {
	if t0 := statsStart(); t0 != 0 {
		defer statsWait(r, t0) // observe_stats.go: --stats, --trace
	}
	if r.fin.Load() {
		return r.result()
	}
	r.e.waiting.Add(1)
	defer r.e.waiting.Add(-1)
	w := r.e.startPoll(&r.pollPeer) // wait.go
	for w.next() {
		if r.fin.Load() {
			w.stop()
			return r.result()
		}
	}
	defer obsExit(obsWait(r)) // observe.go: what this rank is blocked in (only calls that park)
	r.mu.Lock()
	if r.fin.Load() {
		r.mu.Unlock()
		return r.result()
	}
	if r.wake == nil {
		r.wake = make(chan struct{}, 1)
	}
	wake := r.wake
	r.mu.Unlock()
	select {
	case <-wake:
		// Pass the token on to any other goroutine waiting.
		select {
		case wake <- struct{}{}:
		default:
		}
		return r.result()
	case <-ctx.Done():
		return Status{}, r.waitError(ctx.Err()) // hook: see grequest.go
	}
}

// Cancel withdraws a pending request if it has not yet matched a message
// (a receive) or been matched (a large send). It reports whether the
// request was cancelled; a cancelled request completes with ErrCanceled
// and leaves no trace: a cancelled send is never received, probed or
// matched. A request that already matched completes normally, and so does
// one whose message was sent eagerly (it completed at once).
//
// Cancelling a large send that the receiver has been told of asks the
// receiver to give the announcement back, and waits for the answer: a
// round trip to the receiver (whose link reader answers whatever the
// receiving program does), ended early by the peer's loss or the job's
// abort, which fail the request. Safe for concurrent use.
func (r *Request) Cancel() bool { return r.e.cancel(r) }

// Free lets the package reuse a completed request's memory for a later
// call, as MPI_Request_free does; the caller gives up r and must not use it
// again, nor may any other goroutine. A request that has not completed,
// or one that took part in the rendezvous protocol (a message above
// Config.EagerLimit, or one sent while the eager window was full), is left
// to the garbage collector instead. Free(nil)
// does nothing. Collectives free their internal requests this way, so that
// a small collective call allocates next to nothing.
func (r *Request) Free() {
	if r != nil {
		release(r)
	}
}

// WaitAll waits for every request and returns the first error among them
// (in request order). It returns early only when ctx ends. Nil requests
// are skipped.
func WaitAll(ctx context.Context, reqs ...*Request) error {
	var first error
	for _, r := range reqs {
		if r == nil {
			continue
		}
		if _, err := r.Wait(ctx); err != nil && first == nil {
			first = err
			if ctx.Err() != nil {
				return first
			}
		}
	}
	return first
}

// WaitAny waits until one of reqs completes and returns its index and
// result. Nil entries are skipped; with no non-nil request it returns -1.
// The completed entry stays in reqs: set it to nil before waiting again,
// where MPI_Waitany would set it to MPI_REQUEST_NULL.
func WaitAny(ctx context.Context, reqs ...*Request) (int, Status, error) {
	for i, r := range reqs {
		if r != nil && r.fin.Load() {
			st, err := r.result()
			return i, st, err
		}
	}
	cases := make([]reflect.SelectCase, 0, len(reqs)+1)
	idx := make([]int, 0, len(reqs))
	for i, r := range reqs {
		if r != nil {
			cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(r.doneChan())})
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return -1, Status{}, nil
	}
	cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())})
	chosen, _, _ := reflect.Select(cases)
	if chosen == len(idx) {
		return -1, Status{}, ctx.Err()
	}
	st, err := reqs[idx[chosen]].result()
	return idx[chosen], st, err
}

// TestAll reports whether every request has completed (MPI_Testall) and,
// if so, the first error among them, in request order. It never blocks;
// like Test, when some are pending it makes progress on their links once.
// Nil requests count as complete. Safe to call from any goroutine, like
// Test; a request's result stays readable by Wait or Test afterwards.
func TestAll(reqs ...*Request) (bool, error) {
	var pending *Request
	for _, r := range reqs {
		if r != nil && !r.fin.Load() {
			pending = r
			r.e.pollPeer(int(r.pollPeer.Load()))
		}
	}
	if pending != nil {
		pending.e.tested.Store(pending.e.now())
		runtime.Gosched()
	}
	var first error
	for _, r := range reqs {
		if r == nil {
			continue
		}
		if !r.fin.Load() {
			return false, nil
		}
		if _, err := r.result(); err != nil && first == nil {
			first = err
		}
	}
	return true, first
}

// TestAny reports whether one of reqs has completed (MPI_Testany) and, if
// so, the lowest such index and its result. Unlike MPI_Testany, it does
// not clear the entry: set reqs[i] to nil before calling it again, or it
// reports the same request (WaitAny behaves the same way). It never blocks; like Test,
// when none has completed it makes progress on their links once. Nil
// entries are skipped; with no non-nil request it returns -1 and true, as
// MPI_Testany does with MPI_UNDEFINED.
func TestAny(reqs ...*Request) (int, bool, Status, error) {
	for pass := 0; pass < 2; pass++ {
		some := false
		for i, r := range reqs {
			if r == nil {
				continue
			}
			some = true
			if r.fin.Load() {
				st, err := r.result()
				return i, true, st, err
			}
		}
		if !some {
			return -1, true, Status{}, nil
		}
		if pass == 0 {
			var e *engine
			for _, r := range reqs {
				if r != nil {
					e = r.e
					e.pollPeer(int(r.pollPeer.Load()))
				}
			}
			e.tested.Store(e.now())
			runtime.Gosched()
		}
	}
	return -1, false, Status{}, nil
}

// progress is what a non-blocking test (Test, Iprobe, Improbe) does when
// it finds nothing: it processes what has arrived on the link to world
// rank peer (every link for AnySource), then yields the P once so that
// link readers and other goroutines can run. Without it, a goroutine
// that loops on a test keeps the only P of a GOMAXPROCS=1 rank until the
// runtime preempts it, about 10 ms later.
//
// It also records when it ran: on a rank with one P, a TCP link's reader
// keeps polling its socket, instead of parking in the network poller
// (which a goroutine that never parks delays until the runtime's next
// poll, up to 10 ms), while tests keep coming. A reader that parked
// before the tests began (the program computed for longer than
// Config.Spin without a comm call) is not reached that way: the first
// message after such a pause can wait for the runtime's network poll.
func (e *engine) progress(peer int) {
	e.tested.Store(e.now())
	e.pollPeer(peer)
	runtime.Gosched()
}
