package comm

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorun-hpc/gorun/comm/internal/wire"
)

// Close finalizes the process's participation in the job (MPI_Finalize).
// It fails the receives still pending (with ErrClosed), withdraws every
// large send that no receive has matched (it fails with ErrClosed) and
// waits for the ones being delivered, tells every other rank it is
// leaving, waits until every other rank has done the same (or is gone),
// discards the messages that arrived but were never received, and closes
// every connection. Apart from that wait for the other ranks, which Close
// on every rank ends, it takes a round trip or the time the data in flight
// takes. If it dropped anything (a pending receive, a send, a message) it
// says what in an error wrapping ErrDropped; if a peer was lost, that
// error. Operations started after Close fail with ErrClosed. Close on any
// communicator closes the world; it is idempotent and returns the same
// error every time.
func (c *Comm) Close() error {
	w := c.world()
	w.proc.closeOnce.Do(func() { w.proc.closeErr = w.finalize(); theLink.Load().closed(w) })
	return w.proc.closeErr
}

func (w *Comm) finalize() error {
	e := w.e
	p := w.proc
	defer func() {
		if p.stopWatch != nil {
			p.stopWatch()
		}
		e.closeTransports()
		e.closeLinks()
		for _, s := range p.owned {
			s.Close()
		}
	}()
	// Pending receives fail, and large sends that no receive has taken
	// are withdrawn; large sends in flight are waited for.
	recvs, withdrawn := e.beginClose()
	if err := e.waitSends(); err != nil {
		return fmt.Errorf("comm: close: %w", err)
	}
	if e.size == 1 {
		e.fail(ErrClosed)
		return dropError(recvs, withdrawn, e.dropUnexpected())
	}
	// Bye goes through each link's control queue, after every control
	// frame queued before it; nothing is written after it.
	e.mu.Lock()
	links := slices.Clone(e.links)
	e.mu.Unlock()
	for _, l := range links {
		if l != nil {
			l.sendControl(wire.Header{Type: wire.Bye})
		}
	}
	for p, l := range links {
		if l != nil {
			if err := l.flushControl(); err != nil {
				e.linkDown(p, err)
			}
		}
	}
	var lost error
	for {
		e.mu.Lock()
		done := 0
		for p := range e.size {
			if p == e.rank {
				continue
			}
			if e.bye[p] {
				done++
			} else if e.peerErr[p] != nil {
				done++
				if lost == nil {
					lost = e.peerErr[p]
				}
			}
		}
		fatal, ch := e.fatal, e.byeCh
		e.mu.Unlock()
		if fatal != nil {
			return fmt.Errorf("comm: close: %w", fatal)
		}
		if done == e.size-1 {
			break
		}
		<-ch
	}
	unreceived := e.dropUnexpected()
	e.fail(ErrClosed)
	if lost != nil {
		return fmt.Errorf("comm: close: %w", lost)
	}
	return dropError(recvs, withdrawn, unreceived)
}

// dropError is Close's report of what it dropped: recvs receives still
// pending, the sends among withdrawn that no receive took, and unreceived
// messages that arrived but were never received. Nil if nothing was.
func dropError(recvs int, withdrawn []*Request, unreceived int) error {
	sends := 0
	for _, s := range withdrawn {
		if _, _, err := s.Test(); err != nil {
			sends++
		}
	}
	var parts []string
	plural := func(n int, one, many string) {
		if n == 1 {
			parts = append(parts, "1 "+one)
		} else if n > 1 {
			parts = append(parts, strconv.Itoa(n)+" "+many)
		}
	}
	plural(sends, "send that no receive matched", "sends that no receive matched")
	plural(unreceived, "message that arrived but was never received", "messages that arrived but were never received")
	plural(recvs, "receive still pending", "receives still pending")
	if len(parts) == 0 {
		return nil
	}
	return fmt.Errorf("comm: close: %w: %s", ErrDropped, strings.Join(parts, ", "))
}

// Abort ends the whole job (MPI_Abort): it tells the launcher that this
// rank aborted with code, then exits the process with that code. gorun
// terminates every other rank. It does not return.
func (c *Comm) Abort(code int) {
	w := c.world()
	if w.proc.store == nil {
		fmt.Fprintf(os.Stderr, "comm: rank %d called Abort(%d)\n", w.rank, code)
	} else {
		// gorun reports the abort.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		w.proc.store.Set(ctx, "aborted/"+strconv.Itoa(w.rank), []byte(strconv.Itoa(code)))
		cancel()
	}
	os.Exit(code)
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
		if l != nil {
			l.awaitClosed()
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
