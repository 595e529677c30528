package comm

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorun-hpc/gorun/comm/internal/shm"
	"github.com/gorun-hpc/gorun/comm/internal/wire"
)

// link carries frames to one peer. It is the seam between the engine and a
// transport (see transport.go); the engine, requests and the wait policy
// (wait.go) see links only through it.
//
//   - send is safe for concurrent callers and writes each frame whole
//     (frames never interleave); it may wait for room on the link.
//   - sendControl queues a control frame and never waits: it is the only
//     way a frame handler may write (see tcpLink.sendControl); control
//     frames go out in the order queued, and none after a Bye.
//   - flushControl waits until the queued ones are written.
//   - poll processes the frames that have arrived, without waiting for
//     more (a frame already begun is read to its end); it returns false
//     at once when another goroutine is reading the link, and reports
//     whether it processed any frame.
//   - close closes the link (idempotent, from any goroutine, the link's
//     own goroutines included); a goroutine waiting inside the link wakes
//     with an error.
//   - awaitClosed, after close, waits until the link's goroutines (its
//     reader, its control-frame writers) have returned.
//
// Frames from the peer reach the engine through engine.handleFrame, called
// for one frame at a time per link, in arrival order (by the link's
// reader, or by a goroutine waiting on that link, through poll).
type link interface {
	send(h wire.Header, payload []byte) error
	sendControl(h wire.Header)
	flushControl() error
	poll() bool
	close() error
	awaitClosed()
}

// Hard limits a receiver enforces whatever the sender's configuration.
var frameLimits = wire.Limits{MaxEager: 16 << 20, MaxChunk: 64 << 20}

// engine is one process's messaging core: matching, requests and links, in
// world ranks. Every Comm of the process shares it.
//
// Who owns what. Fields are grouped by their guard:
//   - immutable after newEngine or Connect: rank, size, cfg, lossGrace,
//     worldComm, yieldPoll, osYield, start, transports (set by connect
//     before any link starts);
//   - links: written under mu by transports' setup during start-up only
//     (addLink); read without mu once Connect has returned (every link is
//     in place by then), under mu before;
//   - mu guards the matching and protocol state (posted, unexpected and
//     its counters, arrived, rsends, rrecvs, active, sendsDone, closing,
//     nextID) and the peers' state (peerErr, bye, byeCount, byeCh, fatal,
//     failed, suspect), and eagerOut;
//   - atomics, touched from any goroutine: waiting (goroutines in Wait,
//     see wait.go), tested (the last Test that found nothing, see
//     progress), owed (eager bytes to credit back, per peer);
//   - the links' own state belongs to each link (its reader goroutine and
//     its receive lock; see tcpLink, shmLink); frames reach the engine
//     through handleFrame, one at a time per link.
type engine struct {
	rank, size int
	cfg        Config

	mu         sync.Mutex
	posted     []*Request          // receives waiting for a message, in post order
	unexpected [][]*inMsg          // per source (world rank): messages waiting for a receive, in arrival order
	unexpSeq   uint64              // numbers unexpected messages in arrival order across sources
	unexpCount int                 // messages in all of unexpected
	arrived    chan struct{}       // closed at the next arrival or failure; made by probe on demand
	rsends     map[uint64]*Request // large sends waiting for CTS
	rrecvs     map[uint64]*Request // large receives waiting for data
	active     int                 // large sends whose data is being written
	sendsDone  chan struct{}       // closed when a large send ends (made by Close)
	closing    bool                // Close has begun: no new operation starts
	nextID     uint64              // the last request id given to a large send or receive
	links      []link              // per world rank; nil for this rank (see above for its guard)
	transports []transport         // in the order they are offered each pair (transport.go)
	peerErr    []error             // non-nil: the link to that rank is gone
	bye        []bool              // the rank said goodbye
	byeCount   int                 // ranks that said goodbye
	byeCh      chan struct{}       // closed and replaced when a Bye arrives or a link drops
	fatal      error               // the engine has failed (abort, Close): every operation fails with it
	failed     chan struct{}       // closed when fatal is set
	suspect    []bool              // the link dropped; the verdict is pending
	// lossGrace is how long a dropped link waits for the launcher's abort
	// notice before the peer is declared lost (0: no launcher, no wait).
	// Set by Connect before any link starts.
	lossGrace time.Duration

	worldComm *Comm // set by Connect

	// yieldPoll: polling is on and the process has one P (a rank bound to
	// one CPU, or one of several sharing the host's CPUs), so a waiter
	// yield-polls its request instead of parking (wait.go). Set by Connect.
	yieldPoll bool
	// osYield: give the CPU to other processes between polls
	// (Config.Yield). Set by Connect.
	osYield bool

	// windows: the regions of this rank's SharedWindows, kicked when a
	// peer is lost (peersChangedLocked) so that an Await asleep on one
	// looks again (under mu).
	windows map[*shm.Region]struct{}

	waiting atomic.Int32 // goroutines blocked in Wait: readers may poll
	tested  atomic.Int64 // e.now() of the last Test or Iprobe that found nothing (progress)

	// passive links (wait.go): their readers sleep while waiters poll,
	// and every polling waiter polls them. Set by Connect once every link
	// is in place; immutable after.
	passive  []link
	pollSpin time.Duration // how long a waiter polls (see findPassive)
	// pollers counts the waiters polling (under gateMu); gateCond (on
	// gateMu) is broadcast when the count drops to zero and when a
	// passive link closes.
	gateMu   sync.Mutex
	pollers  int
	gateCond *sync.Cond

	// Eager flow control (see Config.EagerWindow). eagerOut[p] (under mu)
	// is what this rank's eager messages to p cost that p has not credited
	// back; owed[p] (atomic) is what p's eager messages delivered here
	// cost since the last Credit to p. Credit frames go through the links'
	// control queues, which drop them after Bye.
	eagerOut []int64
	owed     []atomic.Int64
	start    time.Time // for now(); immutable

	ccOnce sync.Once // the one log line of a refused Config.TCP.Congestion
}

// now returns the monotonic time since the engine started, in ns.
func (e *engine) now() int64 { return int64(time.Since(e.start)) }

func newEngine(rank, size int, cfg Config) *engine {
	e := &engine{
		rank: rank, size: size, cfg: cfg,
		rsends:     map[uint64]*Request{},
		rrecvs:     map[uint64]*Request{},
		links:      make([]link, size),
		unexpected: make([][]*inMsg, size),
		peerErr:    make([]error, size),
		bye:        make([]bool, size),
		byeCh:      make(chan struct{}),
		failed:     make(chan struct{}),
		suspect:    make([]bool, size),
		start:      time.Now(),

		eagerOut: make([]int64, size),
		owed:     make([]atomic.Int64, size),
	}
	e.gateCond = sync.NewCond(&e.gateMu)
	return e
}

// requests recycles the requests of blocking calls (see release).
var requests = sync.Pool{New: func() any { return new(Request) }}

func (e *engine) newRequest(c *Comm, kind reqKind) *Request {
	r := requests.Get().(*Request)
	r.e, r.c, r.kind = e, c, kind
	return r
}

// release recycles the request of a blocking call once it has completed.
// Only a request that never entered the rendezvous protocol is recycled:
// nothing in the engine can refer to it any more. Taking r.mu waits until
// the goroutine that finished it has let go of it.
func release(r *Request) {
	if !r.fin.Load() || r.id != 0 || r.total != 0 {
		return
	}
	if !r.private {
		r.mu.Lock()
		r.mu.Unlock() //lint:ignore SA2001 waits for the goroutine that finished r to let go of it
	}
	r.private = false
	r.e, r.c, r.kind, r.done = nil, nil, 0, nil
	if r.wake != nil {
		select { // the token of this use
		case <-r.wake:
		default:
		}
	}
	r.fin.Store(false)
	r.status, r.err = Status{}, nil
	r.ctx, r.peer, r.tag = 0, 0, 0
	r.buf, r.alloc = nil, false
	r.id, r.total, r.got, r.from = 0, 0, 0, 0
	if r.pollPeer.Load() != 0 {
		r.pollPeer.Store(0)
	}
	r.receiving, r.detached = false, nil
	r.rtsSent, r.wdone, r.withdrawn, r.withdrawErr = false, nil, false, nil
	r.userTag, r.userPeer, r.call = 0, 0, ""
	requests.Put(r)
}

var errBye = errors.New("peer said goodbye")

// handleFrame processes one frame from peer. payload yields exactly the
// frame's payload bytes. h is valid only during the call. A non-nil error
// ends the link.
func (e *engine) handleFrame(peer int, h *wire.Header, payload io.Reader) error {
	switch h.Type {
	case wire.Eager:
		return e.onEager(peer, h, payload)
	case wire.RTS:
		return e.onRTS(peer, h)
	case wire.CTS:
		return e.onCTS(peer, h)
	case wire.Data:
		return e.onData(peer, h, payload)
	case wire.Cancel:
		return e.onCancel(peer, h)
	case wire.Credit:
		return e.onCredit(peer, h)
	case wire.Withdraw:
		return e.onWithdraw(peer, h)
	case wire.Withdrawn:
		return e.onWithdrawn(peer, h)
	case wire.Bye:
		e.onBye(peer)
		return errBye
	}
	return fmt.Errorf("%w: unexpected frame %v", ErrProtocol, h.Type)
}

// readInto reads n bytes from r, the first len(dst) of them into dst and
// the rest discarded.
func readInto(r io.Reader, dst []byte, n int) error {
	k := min(n, len(dst))
	if _, err := io.ReadFull(r, dst[:k]); err != nil {
		return err
	}
	if n > k {
		if _, err := io.CopyN(io.Discard, r, int64(n-k)); err != nil {
			return err
		}
	}
	return nil
}
