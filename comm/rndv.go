package comm

import (
	"fmt"
	"io"

	"github.com/gorun-hpc/gorun/comm/internal/wire"
)

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
	if c, ok := l.(interface{ dataChunk() int }); ok { // a link that chunks on its own (shmLink)
		chunk = c.dataChunk()
	}
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
		e.lostMidMessage(r, peer, rerr)
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
