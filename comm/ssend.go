package comm

import (
	"context"

	"github.com/gorun-hpc/gorun/comm/internal/wire"
)

// Synchronous sends (MPI_Ssend, MPI_Issend). A synchronous send always
// takes the rendezvous path, whatever its size: it announces the message
// (RTS) and moves the payload only when the receiver's CTS says a receive
// has matched it, so completion proves the match. A synchronous send to
// the calling rank itself completes when a receive (or Mrecv) takes it
// (the engine hook: inMsg.ssend, see irecv).

// IssendBytes starts a synchronous send of buf to rank dest of c with
// tag (MPI_Issend): the request completes only once the receiver has
// matched the message with a receive, whatever its size, and buf must not
// be modified until then. Cancel withdraws it while the receiver has not
// matched it. Errors (a lost peer, a bad rank or tag) are reported by the
// request.
func (c *Comm) IssendBytes(buf []byte, dest, tag int) *Request {
	r := c.newSend(buf, dest, tag)
	c.e.issend(r)
	return r
}

// Issend is IssendBytes on a typed slice, without encoding.
func Issend[T Elem](c *Comm, buf []T, dest, tag int) *Request {
	return c.IssendBytes(Bytes(buf), dest, tag)
}

// Ssend sends buf to rank dest of c with tag and returns once the receiver
// has matched it (MPI_Ssend), whatever its size: unlike Send, it never
// completes on buffering alone. If ctx ends first and the receiver has
// not matched the message, the send is withdrawn.
func Ssend[T Elem](ctx context.Context, c *Comm, buf []T, dest, tag int) error {
	r := Issend(c, buf, dest, tag)
	_, err := waitOrCancel(ctx, r)
	return err
}

// issend starts a synchronous send: the RTS branch of isend, taken for
// every size.
func (e *engine) issend(r *Request) {
	dst := r.peer
	e.mu.Lock()
	if err := e.peerStateLocked(dst); err != nil {
		e.mu.Unlock()
		r.finish(Status{}, err)
		return
	}
	if dst == e.rank {
		e.ssendSelfLocked(r)
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
		e.mu.Unlock()
		r.finish(Status{}, e.sendFailed(dst, err))
	}
}

// ssendSelfLocked delivers a synchronous send to the calling rank: to a
// posted receive at once, or queued with the send attached, completed by
// the receive that takes it. Called with e.mu held; unlocks it.
func (e *engine) ssendSelfLocked(s *Request) {
	if r := e.takePosted(s.ctx, e.rank, s.tag); r != nil {
		e.mu.Unlock()
		deliverEager(r, e.rank, s.tag, s.buf, nil, false)
		s.finish(Status{}, nil)
		return
	}
	data, pool := getPayload(len(s.buf))
	copy(data, s.buf)
	e.addUnexpected(&inMsg{ctx: s.ctx, src: e.rank, tag: s.tag, size: len(data), data: data, pool: pool, ssend: s})
	e.mu.Unlock()
}
