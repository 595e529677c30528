package comm

import (
	"context"
	"fmt"
	"time"
)

func (w *Comm) watchAbort(ctx context.Context) {
	v, err := w.proc.watch.Get(ctx, "abort")
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		w.e.fail(fmt.Errorf("%w: lost contact with the launcher: %v", ErrAborted, err))
		return
	}
	w.e.fail(fmt.Errorf("%w: %s", ErrAborted, v))
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
	e.peersChangedLocked()
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

// lostMidMessage fails r, whose payload stopped arriving from peer with
// cause, with the peer's verdict once it is decided (see linkDown): the
// launcher's abort notice if it comes within the grace, else ErrPeerLost.
// Failing r at once would let this rank exit first and be named as the
// job's cause instead of the peer that died.
func (e *engine) lostMidMessage(r *Request, peer int, cause error) {
	e.linkDown(peer, cause)
	go func() { r.finish(Status{}, e.peerVerdict(peer)) }()
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
	e.peersChangedLocked()
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
	e.peersChangedLocked()
	e.mu.Unlock()
	// Links stay open: peers learn of an abort from the launcher, not from a
	// dropped connection. Close (or the process's exit) closes them.
}

// peersChangedLocked tells the goroutines that watch the peers' state
// (byeCh) and the ranks asleep in a SharedWindow's Await that a peer said
// goodbye, was lost, or that the engine failed. Caller holds e.mu.
func (e *engine) peersChangedLocked() {
	close(e.byeCh)
	e.byeCh = make(chan struct{})
	for r := range e.windows {
		r.Kick()
	}
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

// sendStateLocked returns why a send to world rank dst cannot start, or
// nil. Caller holds e.mu.
func (e *engine) sendStateLocked(dst int) error {
	if e.closing && e.fatal == nil {
		return fmt.Errorf("%w: the send started after Close", ErrClosed)
	}
	return e.peerStateLocked(dst)
}

// sendFailed turns a write error on the link to peer into the error the
// operation reports: the peer's verdict (see linkDown).
func (e *engine) sendFailed(peer int, err error) error {
	e.linkDown(peer, err)
	return e.peerVerdict(peer)
}
