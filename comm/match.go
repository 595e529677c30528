package comm

import (
	"fmt"
	"io"
	"sync"

	"github.com/gorun-hpc/gorun/comm/internal/wire"
)

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

func (e *engine) onEager(peer int, h *wire.Header, payload io.Reader) error {
	n := int(h.Len)
	e.mu.Lock()
	if r := e.takePosted(h.Ctx, peer, h.Tag); r != nil {
		e.mu.Unlock()
		if r.alloc {
			r.buf = make([]byte, n)
		}
		if err := readInto(payload, r.buf, n); err != nil {
			e.lostMidMessage(r, peer, err)
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
