package comm

import (
	"context"
	"fmt"
	"sync/atomic"
)

// Matched probes (MPI_Mprobe, MPI_Improbe, MPI_Mrecv, MPI_Imrecv). A
// matched probe takes the message it finds out of the matching queues at
// once, so no other receive or probe can see it; Mrecv then receives
// exactly that message. Two goroutines probing the same source and tag
// therefore each get their own message, which Probe followed by Recv does
// not guarantee.

// Message is a message taken by Mprobe or Improbe and not yet received
// (or, from a probe of ProcNull, MPI_MESSAGE_NO_PROC: receiving it
// completes at once with ProcNull's empty Status).
// Receive it exactly once, with Mrecv, Imrecv or RecvAlloc; until then it
// is held by this rank (a large message's payload stays with the sender,
// which waits). A Message may be passed between goroutines but received
// by one only: a second receive fails with ErrInvalidArgument.
type Message struct {
	c     *Comm
	m     *inMsg
	st    Status
	taken atomic.Bool
}

// Status returns the message's source, tag and size (the MPI_Status
// that MPI_Mprobe fills in).
func (m *Message) Status() Status { return m.st }

// Improbe looks for a message from source (or AnySource) with tag (or
// AnyTag) that a receive would match (MPI_Improbe). If there is one, it
// removes it from the matching queues and returns it with ok true: no
// other receive or probe will see it. Otherwise it returns ok false at
// once. The error reports a bad rank or tag (wrapping ErrInvalidRank or
// ErrInvalidTag, as Iprobe's do) or a fault.
func (c *Comm) Improbe(source, tag int) (msg *Message, ok bool, err error) {
	src, t, err := c.probeArgs("Improbe", source, tag)
	if err != nil {
		return nil, false, err
	}
	if src == ProcNull {
		return &Message{c: c, st: procNullStatus}, true, nil
	}
	msg, _, err = c.e.mprobe(c, src, t)
	if msg == nil && err == nil {
		c.e.progress(src) // request.go: like MPI_Improbe, make progress
		msg, _, err = c.e.mprobe(c, src, t)
	}
	return msg, msg != nil, opError("probe", source, tag, err)
}

// Mprobe waits for a message from source (or AnySource) with tag (or
// AnyTag) and takes it out of the matching queues (MPI_Mprobe), for Mrecv
// to receive. If ctx ends first it returns ctx's error and takes nothing.
func (c *Comm) Mprobe(ctx context.Context, source, tag int) (*Message, error) {
	if t0 := statsStart(); t0 != 0 {
		defer statsCall(c, "Mprobe", 0, t0) // observe_stats.go: --stats, --trace
	}
	src, t, err := c.probeArgs("Mprobe", source, tag)
	if err != nil {
		return nil, err
	}
	if src == ProcNull {
		return &Message{c: c, st: procNullStatus}, nil
	}
	var peer atomic.Int32
	peer.Store(int32(src))
	w := c.e.startPoll(&peer) // wait.go
	var obs obsToken = -2     // observe.go: recorded once the probe waits
	for {
		msg, ch, err := c.e.mprobe(c, src, t)
		if msg != nil || err != nil {
			obsDone(obs)
			w.stop()
			return msg, opError("probe", source, tag, err)
		}
		if ctx.Err() == nil && w.next() { // a caller may end the probe early
			continue
		}
		if obs == -2 {
			obs = c.obsProbe("Mprobe", src, source, tag)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			obsDone(obs)
			w.stop()
			return nil, opError("probe", source, tag, ctx.Err())
		}
	}
}

// mprobe removes and returns the oldest unexpected message that a receive
// (c's context, src, tag) would match, or the arrival channel to wait on.
func (e *engine) mprobe(c *Comm, src int, tag int32) (*Message, <-chan struct{}, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if s, i := e.findUnexpected(c.ctx, src, tag); i >= 0 {
		m := e.removeUnexpected(s, i)
		return &Message{c: c, m: m, st: Status{Source: c.commRank(m.src), Tag: int(m.tag), Bytes: m.size}}, nil, nil
	}
	if e.fatal != nil {
		return nil, nil, e.fatal
	}
	if src != AnySource && src != e.rank {
		if err := e.peerStateLocked(src); err != nil {
			return nil, nil, err
		}
	}
	if e.arrived == nil {
		e.arrived = make(chan struct{})
	}
	return nil, e.arrived, nil
}

// ImrecvBytes starts receiving exactly the message msg into buf
// (MPI_Imrecv). As with Irecv, a shorter message leaves the rest of buf
// alone and a longer one fails with ErrTruncate. A Message received
// before gives a request failed with ErrInvalidArgument.
func (m *Message) ImrecvBytes(buf []byte) *Request {
	return m.irecv(buf, false)
}

func (m *Message) irecv(buf []byte, alloc bool) *Request {
	c := m.c
	if !m.taken.CompareAndSwap(false, true) {
		r := c.e.newRequest(c, kindRecv)
		r.userPeer, r.userTag = m.st.Source, m.st.Tag
		r.finishPrivate(fmt.Errorf("%w: Mrecv: the message was already received", ErrInvalidArgument))
		return r
	}
	r := c.newRecv("Mrecv", buf, m.st.Source, m.st.Tag, alloc)
	if !r.fin.Load() { // not ProcNull's message
		c.e.recvMessage(r, m.m)
	}
	return r
}

// recvMessage completes receive r with the unexpected message mm that a
// matched probe took: the unexpected-message branch of irecv.
func (e *engine) recvMessage(r *Request, mm *inMsg) {
	if s := mm.sreq; s != nil { // a large or synchronous send to self
		deliverEager(r, e.rank, mm.tag, s.buf, nil, false)
		s.finish(Status{}, nil)
		return
	}
	if !mm.rts {
		src, size := mm.src, mm.size
		deliverEager(r, src, mm.tag, mm.data, mm.pool, size > inlineMax)
		putInMsg(mm)
		e.credit(src, size)
		return
	}
	e.mu.Lock()
	if err := e.peerStateLocked(mm.src); err != nil {
		e.mu.Unlock()
		r.finish(Status{}, err)
		return
	}
	cts := e.matchRTS(r, mm.src, mm.tag, mm.size, mm.sendID)
	l := e.links[mm.src]
	e.mu.Unlock()
	e.sendCTS(l, r, &cts)
}

// Imrecv is ImrecvBytes on a typed slice (MPI_Imrecv).
func Imrecv[T Elem](m *Message, buf []T) *Request { return m.ImrecvBytes(Bytes(buf)) }

// Mrecv receives exactly the message msg into buf and returns its status
// (MPI_Mrecv). The message is already matched, so there is nothing to
// withdraw: if ctx ends while a large message's payload is still
// arriving, Mrecv waits for the transfer to end (buf must not change after
// it returns), and returns its result.
func Mrecv[T Elem](ctx context.Context, m *Message, buf []T) (Status, error) {
	t0 := statsStart() // observe_stats.go: --stats, --trace
	r := Imrecv(m, buf)
	st, err := waitOrCancel(ctx, r)
	statsRecvd(m.c, "Mrecv", t0, st, err)
	return st, err
}

// RecvAlloc receives exactly the message msg into a new buffer of its
// size (MPI_Mrecv into a buffer of MPI_Get_count's size). The errors are
// Mrecv's.
func (m *Message) RecvAlloc(ctx context.Context) ([]byte, Status, error) {
	r := m.irecv(nil, true)
	st, err := waitOrCancel(ctx, r)
	return r.buf, st, err
}
