package comm

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorun-hpc/gorun/comm/internal/wire"
)

// link carries frames to one peer. It is the seam between the engine and a
// transport: TCP today, shared memory later. send is safe for concurrent
// callers and writes each frame whole (frames never interleave); it may
// wait for room on the connection. sendControl queues a control frame and
// never waits: it is the only way a frame handler may write (see
// tcpLink.sendControl); control frames go out in the order queued, and
// none after a Bye. flushControl waits until the queued ones are written.
// Frames from the peer reach the engine through engine.handleFrame, called
// for one frame at a time per link, in arrival order (by the link's reader,
// or by a goroutine waiting on that link; see tcpLink).
type link interface {
	send(h wire.Header, payload []byte) error
	sendControl(h wire.Header)
	flushControl() error
	close() error
}

// Hard limits a receiver enforces whatever the sender's configuration.
var frameLimits = wire.Limits{MaxEager: 16 << 20, MaxChunk: 64 << 20}

// inMsg is a message that arrived before a matching receive was posted.
type inMsg struct {
	ctx    uint64
	src    int
	tag    int32
	size   int
	data   []byte     // eager payload
	pool   *pooledBuf // data's recycled buffer, if it has one
	rts    bool
	sendID uint64
	sreq   *Request        // a large send to self, waiting for its receive
	seq    uint64          // arrival order among all unexpected messages
	inline [inlineMax]byte // data of a payload of up to inlineMax bytes
}

// inlineMax is the payload size up to which an unexpected message keeps its
// payload in its own record, which is recycled: a small message that
// arrives before its receive then costs no allocation.
const inlineMax = 64

var inMsgs = sync.Pool{New: func() any { return new(inMsg) }}

// putInMsg recycles m once its payload has been copied out (or handed to
// a receive, when it was not inline).
func putInMsg(m *inMsg) {
	*m = inMsg{}
	inMsgs.Put(m)
}

// engine is one process's messaging core: matching, requests and links, in
// world ranks. Every Comm of the process shares it.
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
	nextID     uint64
	links      []link
	peerErr    []error // non-nil: the link to that rank is gone
	bye        []bool  // the rank said goodbye
	byeCount   int
	byeCh      chan struct{} // closed and replaced when a Bye arrives or a link drops
	fatal      error
	failed     chan struct{} // closed when fatal is set
	suspect    []bool        // the link dropped; the verdict is pending
	// lossGrace is how long a dropped link waits for the launcher's abort
	// notice before the peer is declared lost (0: no launcher, no wait).
	lossGrace time.Duration

	worldComm *Comm

	// yieldPoll: polling is on and the process has one P (a rank bound to
	// one CPU, or one of several sharing the host's CPUs), so a waiter
	// yield-polls its request instead of parking.
	yieldPoll bool
	// osYield: give the CPU to other processes between polls
	// (Config.Yield).
	osYield bool

	waiting atomic.Int32 // goroutines blocked in Wait: readers may poll

	// Eager flow control (see Config.EagerWindow). eagerOut[p] (under mu)
	// is what this rank's eager messages to p cost that p has not credited
	// back; owed[p] is what p's eager messages delivered here cost since
	// the last Credit to p. Credit frames go through the links' control
	// queues, which drop them after Bye.
	eagerOut []int64
	owed     []atomic.Int64
	start    time.Time // for now()

	ccOnce sync.Once // the one log line of a refused Config.Congestion
}

// now returns the monotonic time since the engine started, in ns.
func (e *engine) now() int64 { return int64(time.Since(e.start)) }

// pollFor makes progress on behalf of a waiting request: it processes what
// has arrived on the link the request depends on (every link for a receive
// from any source).
func (e *engine) pollFor(r *Request) {
	peer := int(r.pollPeer.Load())
	if peer == e.rank {
		return
	}
	if peer != AnySource {
		if l, ok := e.links[peer].(*tcpLink); ok {
			l.tryPoll()
		}
		return
	}
	e.pollAll()
}

// pollAll processes what has arrived on every link. With Config.Yield the
// link readers park at once and a spinning waiter keeps the runtime from
// waking them, so waiters poll every link now and then: control frames
// from other peers (a CTS for one of this rank's sends, an RTS, credits)
// must not wait for the waiter to give up.
func (e *engine) pollAll() {
	for p, l := range e.links {
		if tl, ok := l.(*tcpLink); ok && p != e.rank {
			tl.tryPoll()
		}
	}
}

func newEngine(rank, size int, cfg Config) *engine {
	return &engine{
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
	r.userTag, r.userPeer = 0, 0
	requests.Put(r)
}

// matches reports whether a receive (ctx, src, tag) accepts a message.
func matches(r *Request, ctx uint64, src int, tag int32) bool {
	return r.ctx == ctx && (r.peer == AnySource || r.peer == src) && (r.tag == AnyTag || r.tag == tag)
}

// takePosted removes and returns the oldest posted receive that accepts the
// message. Caller holds e.mu.
func (e *engine) takePosted(ctx uint64, src int, tag int32) *Request {
	for i, r := range e.posted {
		if matches(r, ctx, src, tag) {
			e.posted = removeAt(e.posted, i)
			return r
		}
	}
	return nil
}

// addUnexpected queues m, whose src is set, as a message waiting for a
// receive. Caller holds e.mu.
func (e *engine) addUnexpected(m *inMsg) {
	e.unexpSeq++
	m.seq = e.unexpSeq
	e.unexpected[m.src] = append(e.unexpected[m.src], m)
	e.unexpCount++
	e.signalArrival()
}

// findUnexpected returns the source and index in that source's queue of the
// oldest unexpected message that a receive (ctx, src, tag) accepts, or
// i = -1. Caller holds e.mu.
//
// The queues are per source so that a receive from one rank does not scan
// or shift what other ranks sent: a rank that runs ahead (back-to-back
// rooted collectives, where the leaves of a tree only send) can leave
// thousands of messages waiting, and one queue for all sources made every
// receive from a slower child cost a scan past them and a shift of the
// array (np 8, back to back, 9 alternating rounds, medians: Reduce of 16 B
// 25.1 µs a call with one queue, 8.0 with one per source; Gather 24.6 and
// 10.9).
func (e *engine) findUnexpected(ctx uint64, src int, tag int32) (int, int) {
	if src != AnySource {
		return src, findIn(e.unexpected[src], ctx, tag)
	}
	bs, bi := -1, -1
	if e.unexpCount == 0 { // nothing waits: do not look at every source
		return bs, bi
	}
	for s, q := range e.unexpected {
		if i := findIn(q, ctx, tag); i >= 0 && (bi < 0 || q[i].seq < e.unexpected[bs][bi].seq) {
			bs, bi = s, i
		}
	}
	return bs, bi
}

// findIn returns the index of the first message of q with context ctx and
// tag tag (any tag for AnyTag), or -1.
func findIn(q []*inMsg, ctx uint64, tag int32) int {
	for i, m := range q {
		if m.ctx == ctx && (tag == AnyTag || tag == m.tag) {
			return i
		}
	}
	return -1
}

func (e *engine) removeUnexpected(src, i int) *inMsg {
	m := e.unexpected[src][i]
	e.unexpected[src] = removeAt(e.unexpected[src], i)
	e.unexpCount--
	return m
}

// removeAt removes q[i], keeping the order. Taking the oldest entry, by far
// the common case, is O(1): a queue that a sender running ahead has made
// long (thousands of small messages) is not shifted for every match. The
// last entry is removed in place, so that a queue going between empty and
// one entry (a small message at a time) keeps its array instead of moving
// along it and reallocating whenever it runs out.
func removeAt[E any](q []*E, i int) []*E {
	if i == 0 && len(q) > 1 {
		q[0] = nil
		return q[1:]
	}
	copy(q[i:], q[i+1:])
	q[len(q)-1] = nil
	return q[:len(q)-1]
}

func (e *engine) signalArrival() {
	if e.arrived != nil {
		close(e.arrived)
		e.arrived = nil
	}
}

func (r *Request) statusFor(src, tag int32, size int) Status {
	return Status{Source: r.c.commRank(int(src)), Tag: int(tag), Bytes: size}
}

// deliverEager copies a whole message into a matched receive and completes
// it. A receive that allocates its buffer takes data itself when data owns
// its memory (pool == nil and owned); otherwise data's pooled buffer is
// recycled after the copy.
func deliverEager(r *Request, src int, tag int32, data []byte, pool *pooledBuf, owned bool) {
	if r.alloc {
		if pool == nil && owned {
			r.buf = data
		} else {
			r.buf = make([]byte, len(data))
		}
	}
	n := copy(r.buf, data)
	putPayload(pool)
	var err error
	if n < len(data) {
		err = ErrTruncate
	}
	r.finish(r.statusFor(int32(src), tag, len(data)), err)
}

// ---- receiving side: called by a link's reader, in arrival order ----

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

func (e *engine) onEager(peer int, h *wire.Header, payload io.Reader) error {
	n := int(h.Len)
	e.mu.Lock()
	if r := e.takePosted(h.Ctx, peer, h.Tag); r != nil {
		e.mu.Unlock()
		if r.alloc {
			r.buf = make([]byte, n)
		}
		if err := readInto(payload, r.buf, n); err != nil {
			r.finish(Status{}, fmt.Errorf("%w: %v", ErrPeerLost, err))
			return err
		}
		var err error
		if n > len(r.buf) {
			err = ErrTruncate
		}
		r.finish(r.statusFor(int32(peer), h.Tag, n), err)
		e.credit(peer, n)
		return nil
	}
	e.mu.Unlock()
	m := inMsgs.Get().(*inMsg)
	var data []byte
	var pool *pooledBuf
	if n <= inlineMax {
		data = m.inline[:n]
	} else {
		data, pool = getPayload(n)
	}
	if _, err := io.ReadFull(payload, data); err != nil {
		putPayload(pool)
		putInMsg(m)
		return err
	}
	e.mu.Lock()
	if r := e.takePosted(h.Ctx, peer, h.Tag); r != nil {
		e.mu.Unlock()
		deliverEager(r, peer, h.Tag, data, pool, n > inlineMax)
		putInMsg(m)
		e.credit(peer, n)
		return nil
	}
	m.ctx, m.src, m.tag, m.size, m.data, m.pool = h.Ctx, peer, h.Tag, n, data, pool
	e.addUnexpected(m)
	e.mu.Unlock()
	return nil
}

// matchRTS registers receive r for a large message and returns the CTS to
// send. Caller holds e.mu.
func (e *engine) matchRTS(r *Request, src int, tag int32, size int, sendID uint64) wire.Header {
	e.nextID++
	r.id = e.nextID
	r.total = size
	r.from = src
	r.pollPeer.Store(int32(src))
	r.status = r.statusFor(int32(src), tag, size)
	if r.alloc {
		r.buf = make([]byte, size)
	}
	e.rrecvs[r.id] = r
	return wire.Header{Type: wire.CTS, A: sendID, B: r.id}
}

func (e *engine) onRTS(peer int, h *wire.Header) error {
	if h.A == 0 {
		return fmt.Errorf("%w: RTS without a request id", ErrProtocol)
	}
	e.mu.Lock()
	r := e.takePosted(h.Ctx, peer, h.Tag)
	if r == nil {
		e.addUnexpected(&inMsg{ctx: h.Ctx, src: peer, tag: h.Tag, size: int(h.Len), rts: true, sendID: h.A})
		e.mu.Unlock()
		return nil
	}
	cts := e.matchRTS(r, peer, h.Tag, int(h.Len), h.A)
	l := e.links[peer]
	e.mu.Unlock()
	e.sendCTS(l, r, &cts)
	return nil
}

// sendCTS completes a matched receive of an empty message at once (no data
// follows) and queues the CTS. It never waits for the link: the caller may
// be the link's reader. A CTS that cannot be written ends the link, and the
// receive fails with the peer's loss.
func (e *engine) sendCTS(l link, r *Request, cts *wire.Header) {
	if r.total == 0 {
		e.mu.Lock()
		delete(e.rrecvs, r.id)
		e.mu.Unlock()
		r.finish(r.status, nil)
	}
	l.sendControl(*cts)
}

func (e *engine) onCTS(peer int, h *wire.Header) error {
	e.mu.Lock()
	s := e.rsends[h.A]
	if s == nil || s.peer != peer {
		l := e.links[peer]
		e.mu.Unlock()
		// The send is gone (the job aborted): release the receiver.
		l.sendControl(wire.Header{Type: wire.Cancel, B: h.B})
		return nil
	}
	delete(e.rsends, h.A)
	if s.wdone != nil {
		// A receive took it before the withdrawal arrived: the send goes
		// on, and Cancel reports false.
		close(s.wdone)
		s.wdone = nil
	}
	e.active++
	l := e.links[peer]
	e.mu.Unlock()
	// Write the data on its own goroutine: the reader must keep reading,
	// or two ranks sending large messages to each other would deadlock.
	// (h belongs to the link's reader and is reused for the next frame.)
	recvID := h.B
	go func() {
		err := e.writeData(l, s, recvID)
		e.mu.Lock()
		e.active--
		e.sendEndedLocked()
		e.mu.Unlock()
		if err != nil {
			err = e.sendFailed(peer, err)
		}
		s.finish(Status{}, err)
	}()
	return nil
}

func (e *engine) writeData(l link, s *Request, recvID uint64) error {
	chunk := e.cfg.ChunkSize
	for off := 0; off < len(s.buf); off += chunk {
		end := min(off+chunk, len(s.buf))
		h := wire.Header{Type: wire.Data, B: recvID, Len: uint64(end - off)}
		if err := l.send(h, s.buf[off:end]); err != nil {
			return err
		}
	}
	return nil
}

func (e *engine) onData(peer int, h *wire.Header, payload io.Reader) error {
	n := int(h.Len)
	e.mu.Lock()
	r := e.rrecvs[h.B]
	if r == nil || r.from != peer || r.got+n > r.total {
		e.mu.Unlock()
		return fmt.Errorf("%w: data frame for unknown receive %d", ErrProtocol, h.B)
	}
	if r.detached != nil {
		// The receive already failed (the job aborted): absorb the rest
		// of its message without touching the caller's buffer.
		r.got += n
		if r.got == r.total {
			delete(e.rrecvs, r.id)
		}
		e.mu.Unlock()
		_, err := io.CopyN(io.Discard, payload, int64(n))
		return err
	}
	r.receiving = true
	e.mu.Unlock()
	var dst []byte
	if r.got < len(r.buf) {
		dst = r.buf[r.got:]
	}
	rerr := readInto(payload, dst, n)
	e.mu.Lock()
	r.receiving = false
	r.got += n
	done := r.got == r.total
	if done || rerr != nil {
		delete(e.rrecvs, r.id)
	}
	detached := r.detached
	e.mu.Unlock()
	switch {
	case rerr != nil:
		r.finish(Status{}, fmt.Errorf("%w: %v", ErrPeerLost, rerr))
		return rerr
	case detached != nil:
		r.finish(Status{}, detached)
	case done:
		var err error
		if r.total > len(r.buf) {
			err = ErrTruncate
		}
		r.finish(r.status, err)
	}
	return nil
}

// sendEndedLocked wakes Close, waiting for large sends to end. Caller
// holds e.mu.
func (e *engine) sendEndedLocked() {
	if e.sendsDone != nil {
		close(e.sendsDone)
		e.sendsDone = nil
	}
}

// onWithdraw drops the RTS the peer withdraws, if no receive has taken it,
// and tells the peer so. If a receive has taken it, the CTS is on its way
// (queued before this frame was read, or about to be): nothing to answer.
func (e *engine) onWithdraw(peer int, h *wire.Header) error {
	e.mu.Lock()
	for i, m := range e.unexpected[peer] {
		if m.rts && m.sendID == h.A {
			e.removeUnexpected(peer, i)
			l := e.links[peer]
			e.mu.Unlock()
			l.sendControl(wire.Header{Type: wire.Withdrawn, A: h.A})
			return nil
		}
	}
	e.mu.Unlock()
	return nil
}

// onWithdrawn completes a send whose withdrawal the receiver granted.
func (e *engine) onWithdrawn(peer int, h *wire.Header) error {
	e.mu.Lock()
	s := e.rsends[h.A]
	if s == nil || s.peer != peer || s.wdone == nil {
		e.mu.Unlock()
		return fmt.Errorf("%w: withdrawn frame for send %d, which is not being withdrawn", ErrProtocol, h.A)
	}
	delete(e.rsends, h.A)
	s.withdrawn = true
	close(s.wdone)
	s.wdone = nil
	err := s.withdrawErr
	if err == nil {
		err = ErrCanceled
	}
	e.sendEndedLocked()
	e.mu.Unlock()
	s.finish(Status{}, err)
	return nil
}

// withdrawLocked starts withdrawing large send s, which no CTS has
// answered yet (it is in rsends), and returns the channel closed when the
// outcome is known: a Withdrawn (s.withdrawn is set and s fails with err,
// or ErrCanceled if err is nil) or a CTS (s goes on). s may also fail
// meanwhile (the peer is lost). If the RTS is not written yet, isend sends
// the Withdraw after it. Caller holds e.mu.
func (e *engine) withdrawLocked(s *Request, err error) chan struct{} {
	if err != nil && s.withdrawErr == nil {
		s.withdrawErr = err
	}
	if s.wdone == nil {
		s.wdone = make(chan struct{})
		if s.rtsSent {
			e.links[s.peer].sendControl(wire.Header{Type: wire.Withdraw, A: s.id})
		}
	}
	return s.wdone
}

func (e *engine) onCancel(peer int, h *wire.Header) error {
	e.mu.Lock()
	r := e.rrecvs[h.B]
	if r == nil || r.from != peer || r.got != 0 {
		e.mu.Unlock()
		return fmt.Errorf("%w: cancel for unknown receive %d", ErrProtocol, h.B)
	}
	delete(e.rrecvs, h.B)
	e.mu.Unlock()
	r.finish(r.status, fmt.Errorf("%w: the sender cancelled the message", ErrCanceled))
	return nil
}

func (e *engine) onBye(peer int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.bye[peer] {
		return
	}
	e.bye[peer] = true
	e.byeCount++
	e.failPeerLocked(peer, ErrPeerFinalized, false)
	close(e.byeCh)
	e.byeCh = make(chan struct{})
}

// linkDown records that the link to peer is gone and fails what depended
// on it. After a Bye this is the normal end of a link.
//
// Under a launcher, a peer that dies is usually the cause of a job abort:
// the launcher hears of its exit and tells every rank why. So that ranks
// report that cause (and do not exit first, hiding it), a dropped link is
// only suspected for up to lossGrace, while the abort notice may arrive.
func (e *engine) linkDown(peer int, cause error) {
	e.mu.Lock()
	if e.peerErr[peer] != nil || e.suspect[peer] {
		e.mu.Unlock()
		return
	}
	if e.lossGrace > 0 && !e.bye[peer] && e.fatal == nil {
		e.suspect[peer] = true
		e.mu.Unlock()
		go func() {
			t := time.NewTimer(e.lossGrace)
			defer t.Stop()
			select {
			case <-e.failed:
			case <-t.C:
			}
			e.linkLost(peer, cause)
		}()
		return
	}
	e.mu.Unlock()
	e.linkLost(peer, cause)
}

// peerVerdict waits until the fate of a dropped link to peer is decided
// and returns the error that operations on it fail with.
func (e *engine) peerVerdict(peer int) error {
	for {
		e.mu.Lock()
		if err := e.peerStateLocked(peer); err != nil {
			e.mu.Unlock()
			return err
		}
		ch := e.byeCh
		e.mu.Unlock()
		<-ch
	}
}

func (e *engine) linkLost(peer int, cause error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.peerErr[peer] != nil {
		return
	}
	if e.bye[peer] {
		e.peerErr[peer] = ErrPeerFinalized
		return
	}
	err := fmt.Errorf("%w: rank %d: %v", ErrPeerLost, peer, cause)
	e.peerErr[peer] = err
	e.failPeerLocked(peer, err, true)
	close(e.byeCh)
	e.byeCh = make(chan struct{})
}

// failPeerLocked fails every request that can only complete through peer.
// With anySource, receives from any rank of a communicator that contains
// peer fail too (the message they wait for may have been the lost rank's).
func (e *engine) failPeerLocked(peer int, err error, anySource bool) {
	kept := e.posted[:0]
	for _, r := range e.posted {
		if r.peer == peer || (anySource && r.peer == AnySource && r.c.containsWorld(peer)) {
			r.finish(Status{}, err)
			continue
		}
		kept = append(kept, r)
	}
	clear(e.posted[len(kept):])
	e.posted = kept
	for _, r := range e.rrecvs {
		if r.from == peer {
			e.detachLocked(r, err)
		}
	}
	for id, s := range e.rsends {
		if s.peer == peer {
			delete(e.rsends, id)
			if s.withdrawErr != nil && !anySource {
				// Close was withdrawing it, and the peer's goodbye
				// settles it: the peer matched nothing after it.
				s.finish(Status{}, s.withdrawErr)
				continue
			}
			s.finish(Status{}, err)
		}
	}
	e.sendEndedLocked()
	e.signalArrival()
}

// detachLocked fails a large receive that has matched its message. It
// stays registered, so that chunks still in flight are absorbed without
// touching the caller's buffer; one being read right now completes the
// request when its read ends (see onData). Caller holds e.mu.
func (e *engine) detachLocked(r *Request, err error) {
	if r.detached != nil {
		return
	}
	r.detached = err
	if !r.receiving {
		r.finish(Status{}, err)
	}
}

// fail ends the engine: every pending and future operation fails with err.
func (e *engine) fail(err error) {
	e.mu.Lock()
	if e.fatal != nil {
		e.mu.Unlock()
		return
	}
	e.fatal = err
	close(e.failed)
	for _, r := range e.posted {
		r.finish(Status{}, err)
	}
	e.posted = nil
	for _, r := range e.rrecvs {
		e.detachLocked(r, err)
	}
	for id, s := range e.rsends {
		delete(e.rsends, id)
		s.finish(Status{}, err)
	}
	for _, m := range e.unexpected[e.rank] {
		if m.sreq != nil { // a large send to self: it can no longer be received
			m.sreq.finish(Status{}, err)
		}
	}
	e.sendEndedLocked()
	e.signalArrival()
	close(e.byeCh)
	e.byeCh = make(chan struct{})
	e.mu.Unlock()
	// Links stay open: peers learn of an abort from the launcher, not from a
	// dropped connection. Close (or the process's exit) closes them.
}

// closeLinks closes every link and waits for their readers.
func (e *engine) closeLinks() {
	e.mu.Lock()
	links := append([]link(nil), e.links...)
	e.mu.Unlock()
	for _, l := range links {
		if l != nil {
			l.close()
		}
	}
	for _, l := range links {
		if tl, ok := l.(*tcpLink); ok {
			<-tl.done
			tl.writers.Wait()
		}
	}
}

// beginClose starts Close: no operation starts any more, the pending
// receives fail, and every large send that no receive has taken is
// withdrawn (see withdrawLocked). It returns the number of receives it
// failed and the sends it withdraws.
func (e *engine) beginClose() (int, []*Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closing = true
	recvs := len(e.posted)
	for _, r := range e.posted {
		r.finish(Status{}, fmt.Errorf("%w: Close was called before a message matched the receive", ErrClosed))
	}
	clear(e.posted)
	e.posted = e.posted[:0]
	e.signalArrival()
	var sends []*Request
	err := fmt.Errorf("%w: Close withdrew the send before a receive matched it", ErrClosed)
	for _, s := range e.rsends {
		e.withdrawLocked(s, err)
		sends = append(sends, s)
	}
	kept := e.unexpected[e.rank][:0]
	for _, m := range e.unexpected[e.rank] {
		if m.sreq != nil {
			m.sreq.finish(Status{}, err)
			sends = append(sends, m.sreq)
			e.unexpCount--
			continue
		}
		kept = append(kept, m)
	}
	clear(e.unexpected[e.rank][len(kept):])
	e.unexpected[e.rank] = kept
	return recvs, sends
}

// waitSends waits until no large send is left: each was delivered,
// withdrawn or failed. Readers answer a Withdraw whatever their programs
// do, so this takes a round trip, or as long as the data in flight takes.
func (e *engine) waitSends() error {
	for {
		e.mu.Lock()
		if e.fatal != nil {
			err := e.fatal
			e.mu.Unlock()
			return err
		}
		if e.active == 0 && len(e.rsends) == 0 {
			e.mu.Unlock()
			return nil
		}
		if e.sendsDone == nil {
			e.sendsDone = make(chan struct{})
		}
		ch, bye := e.sendsDone, e.byeCh
		e.mu.Unlock()
		select {
		case <-ch:
		case <-bye:
		}
	}
}

// dropUnexpected discards the messages that arrived but were never
// received, failing the sends to self among them, and returns how many
// there were. Close calls it once every peer has said goodbye.
func (e *engine) dropUnexpected() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for src, q := range e.unexpected {
		for _, m := range q {
			n++
			if m.sreq != nil {
				m.sreq.finish(Status{}, fmt.Errorf("%w: no receive matched the send before Close", ErrClosed))
			}
			putPayload(m.pool)
		}
		clear(q)
		e.unexpected[src] = nil
	}
	e.unexpCount = 0
	return n
}

// peerStateLocked returns why world rank p can no longer be reached, or nil.
func (e *engine) peerStateLocked(p int) error {
	if e.fatal != nil {
		return e.fatal
	}
	if e.bye[p] {
		return ErrPeerFinalized
	}
	return e.peerErr[p]
}

// ---- posting side: called by the API ----

// sendNow sends buf to world rank dst (another rank) at once if it can:
// eagerly, with room in the eager window. It reports whether the send is
// done, that is written or failed (the peer is lost, for one); when it is
// not, nothing was sent. Safe for concurrent use.
func (e *engine) sendNow(dst int, ctx uint64, tag int32, buf []byte) (bool, error) {
	if len(buf) > e.cfg.EagerLimit {
		return false, nil
	}
	e.mu.Lock()
	if err := e.sendStateLocked(dst); err != nil {
		e.mu.Unlock()
		return true, err
	}
	if !e.eagerRoomLocked(dst, len(buf)) {
		e.mu.Unlock()
		return false, nil
	}
	l := e.links[dst]
	e.mu.Unlock()
	h := wire.Header{Type: wire.Eager, Ctx: ctx, Tag: tag, Len: uint64(len(buf))}
	if err := l.send(h, buf); err != nil {
		return true, e.sendFailed(dst, err)
	}
	return true, nil
}

// isend starts a send. r is new: no other goroutine can see it before
// isend returns (which finishPrivate relies on).
func (e *engine) isend(r *Request) {
	dst := r.peer
	if dst == e.rank {
		e.sendSelf(r)
		return
	}
	if r.kind != kindSsend { // hook: a synchronous send always takes the RTS path (ssend.go)
		if done, err := e.sendNow(dst, r.ctx, r.tag, r.buf); done {
			r.finishPrivate(err)
			return
		}
	}
	e.mu.Lock()
	if err := e.sendStateLocked(dst); err != nil { // lost since sendNow looked
		e.mu.Unlock()
		r.finishPrivate(err)
		return
	}
	l := e.links[dst]
	e.nextID++
	r.id = e.nextID
	e.rsends[r.id] = r
	e.mu.Unlock()
	h := wire.Header{Type: wire.RTS, Ctx: r.ctx, Tag: r.tag, Len: uint64(len(r.buf)), A: r.id}
	if err := l.send(h, nil); err != nil {
		e.mu.Lock()
		delete(e.rsends, r.id)
		e.sendEndedLocked()
		e.mu.Unlock()
		r.finish(Status{}, e.sendFailed(dst, err))
		return
	}
	e.mu.Lock()
	r.rtsSent = true
	if r.wdone != nil && e.rsends[r.id] == r {
		// Cancel came first: the Withdraw follows the RTS.
		l.sendControl(wire.Header{Type: wire.Withdraw, A: r.id})
	}
	e.mu.Unlock()
}

// sendStateLocked returns why a send to world rank dst cannot start, or
// nil. Caller holds e.mu.
func (e *engine) sendStateLocked(dst int) error {
	if e.closing && e.fatal == nil {
		return fmt.Errorf("%w: the send started after Close", ErrClosed)
	}
	return e.peerStateLocked(dst)
}

// eagerRoomLocked reports whether an eager message of n bytes to peer fits
// the eager window, and if so charges it. Caller holds e.mu.
func (e *engine) eagerRoomLocked(peer, n int) bool {
	cost := int64(n) + wire.EagerOverhead
	if w := e.cfg.EagerWindow; w >= 0 && e.eagerOut[peer]+cost > int64(w) {
		return false
	}
	e.eagerOut[peer] += cost
	return true
}

// creditBatch is how much delivered eager traffic from a peer is credited
// back in one Credit frame.
const creditBatch = 64 << 10

// credit records that an eager message of n bytes from peer was delivered
// to a receive, and queues a Credit frame to peer once a batch is owed.
func (e *engine) credit(peer, n int) {
	if peer == e.rank {
		e.mu.Lock()
		e.eagerOut[peer] -= int64(n) + wire.EagerOverhead
		e.mu.Unlock()
		return
	}
	if e.owed[peer].Add(int64(n)+wire.EagerOverhead) < creditBatch {
		return
	}
	if amt := e.owed[peer].Swap(0); amt > 0 {
		e.mu.Lock()
		l, down := e.links[peer], e.peerStateLocked(peer) != nil
		e.mu.Unlock()
		if !down {
			l.sendControl(wire.Header{Type: wire.Credit, A: uint64(amt)})
		}
	}
}

// onCredit takes back eager window space the peer has freed.
func (e *engine) onCredit(peer int, h *wire.Header) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if h.A > uint64(e.eagerOut[peer]) {
		return fmt.Errorf("%w: credit of %d bytes, %d outstanding", ErrProtocol, h.A, e.eagerOut[peer])
	}
	e.eagerOut[peer] -= int64(h.A)
	return nil
}

// sendFailed turns a write error on the link to peer into the error the
// operation reports: the peer's verdict (see linkDown).
func (e *engine) sendFailed(peer int, err error) error {
	e.linkDown(peer, err)
	return e.peerVerdict(peer)
}

// sendSelf sends s to this rank itself, by the rules of a send to a peer:
// a message up to the eager limit that fits the eager window (which self
// traffic has too) is copied once and queued if no receive waits; a larger
// one waits, queued as an announcement, until a receive takes it, and is
// then copied once, straight into the receive's buffer. No copy is made
// under e.mu.
func (e *engine) sendSelf(s *Request) {
	e.mu.Lock()
	if err := e.sendStateLocked(e.rank); err != nil {
		e.mu.Unlock()
		s.finish(Status{}, err)
		return
	}
	if r := e.takePosted(s.ctx, e.rank, s.tag); r != nil {
		e.mu.Unlock()
		deliverEager(r, e.rank, s.tag, s.buf, nil, false)
		s.finish(Status{}, nil)
		return
	}
	n := len(s.buf)
	if s.kind == kindSsend || n > e.cfg.EagerLimit || !e.eagerRoomLocked(e.rank, n) { // hook: ssend.go
		e.addUnexpected(&inMsg{ctx: s.ctx, src: e.rank, tag: s.tag, size: n, rts: true, sreq: s})
		e.mu.Unlock()
		return
	}
	e.mu.Unlock()
	m := inMsgs.Get().(*inMsg)
	var data []byte
	var pool *pooledBuf
	if n <= inlineMax {
		data = m.inline[:n]
	} else {
		data, pool = getPayload(n)
	}
	copy(data, s.buf)
	e.mu.Lock()
	if r := e.takePosted(s.ctx, e.rank, s.tag); r != nil { // posted meanwhile
		e.mu.Unlock()
		deliverEager(r, e.rank, s.tag, data, pool, n > inlineMax)
		putInMsg(m)
		e.credit(e.rank, n)
		s.finish(Status{}, nil)
		return
	}
	m.ctx, m.src, m.tag, m.size, m.data, m.pool = s.ctx, e.rank, s.tag, n, data, pool
	e.addUnexpected(m)
	e.mu.Unlock()
	s.finish(Status{}, nil)
}

// takeSelfSend removes the queued large send to self s, if it is queued.
// Caller holds e.mu.
func (e *engine) takeSelfSend(s *Request) bool {
	for i, m := range e.unexpected[e.rank] {
		if m.sreq == s {
			e.removeUnexpected(e.rank, i)
			return true
		}
	}
	return false
}

func (e *engine) irecv(r *Request) {
	e.mu.Lock()
	if e.fatal != nil {
		e.mu.Unlock()
		r.finish(Status{}, e.fatal)
		return
	}
	if e.closing {
		e.mu.Unlock()
		r.finish(Status{}, fmt.Errorf("%w: the receive started after Close", ErrClosed))
		return
	}
	if src, i := e.findUnexpected(r.ctx, r.peer, r.tag); i >= 0 {
		m := e.removeUnexpected(src, i)
		if s := m.sreq; s != nil { // a large send to self
			e.mu.Unlock()
			deliverEager(r, e.rank, m.tag, s.buf, nil, false)
			s.finish(Status{}, nil)
			return
		}
		if !m.rts {
			e.mu.Unlock()
			src, size := m.src, m.size
			deliverEager(r, src, m.tag, m.data, m.pool, size > inlineMax)
			putInMsg(m)
			e.credit(src, size)
			return
		}
		if err := e.peerStateLocked(m.src); err != nil {
			e.mu.Unlock()
			r.finish(Status{}, err)
			return
		}
		cts := e.matchRTS(r, m.src, m.tag, m.size, m.sendID)
		l := e.links[m.src]
		e.mu.Unlock()
		e.sendCTS(l, r, &cts)
		return
	}
	if r.peer != AnySource && r.peer != e.rank {
		if err := e.peerStateLocked(r.peer); err != nil {
			e.mu.Unlock()
			r.finish(Status{}, err)
			return
		}
	}
	e.posted = append(e.posted, r)
	e.mu.Unlock()
}

func (e *engine) cancel(r *Request) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if r.kind == kindRecv {
		for i, p := range e.posted {
			if p == r {
				e.posted = removeAt(e.posted, i)
				r.finish(Status{}, ErrCanceled)
				return true
			}
		}
		return false
	}
	if r.withdrawn {
		return true
	}
	if r.peer == e.rank {
		if e.takeSelfSend(r) {
			r.withdrawn = true
			r.finish(Status{}, ErrCanceled)
			return true
		}
		return false
	}
	if s, ok := e.rsends[r.id]; !ok || s != r {
		return false
	}
	// The receiver has the RTS, or will have: it must give it back before
	// the send counts as cancelled, or a receive could still take it.
	ch := e.withdrawLocked(r, nil)
	e.mu.Unlock()
	select {
	case <-ch:
	case <-r.doneChan():
	}
	e.mu.Lock()
	return r.withdrawn
}

// probe looks for an unexpected message that a receive (ctx, src, tag)
// would match. It returns the arrival channel to wait on when there is none.
func (e *engine) probe(c *Comm, ctx uint64, src int, tag int32) (Status, bool, <-chan struct{}, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if s, i := e.findUnexpected(ctx, src, tag); i >= 0 {
		m := e.unexpected[s][i]
		return Status{Source: c.commRank(m.src), Tag: int(m.tag), Bytes: m.size}, true, nil, nil
	}
	if e.fatal != nil {
		return Status{}, false, nil, e.fatal
	}
	if src != AnySource && src != e.rank {
		if err := e.peerStateLocked(src); err != nil {
			return Status{}, false, nil, err
		}
	}
	if e.arrived == nil {
		e.arrived = make(chan struct{})
	}
	return Status{}, false, e.arrived, nil
}
