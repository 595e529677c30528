package comm

import (
	"runtime"
	"sync/atomic"
	"time"
)

// The wait policy: how a goroutine that waits for a request (Wait) or a
// message (Mprobe) makes progress before it parks. It is the one place
// that decides when waiters poll, how long and how they yield; it asks
// links to make progress only through link.poll, so a rank whose peers
// are reached by different transports waits on all of them at once.
//
// A waiter polls when polling is on (Config.Spin > 0) and either the
// process has one P (engine.yieldPoll: a link's reader runs only when the
// waiter yields, so the waiter polls its own link and the reader that
// completes the request hands over without a park and wake-up) or the
// rank has passive links (shared memory: polling one costs a load from
// the ring, and the waiter takes its message without a wake-up). It polls
// the link its request depends on (every link for a receive from any
// source) and every passive link, for up to Config.Spin, then parks on its
// request. Otherwise it parks at once, and the links' readers poll while
// goroutines wait (engine.waiting).
//
// A passive link's reader sleeps on its channel while nobody polls, so a
// peer's message wakes it; while waiters poll (engine.pollers > 0) its
// sleep is hidden from the peer (a reader asleep stays asleep) or, if it
// was awake, it parks on engine.gateCond, and the peer's messages cost no
// wake-up. The last waiter to stop polling wakes them, and they go back
// to sleeping on their channels. A reader yields its P before it sleeps
// (see shmLink.readLoop), so the goroutines it has just woken run first;
// the sleep itself hands the P back to the scheduler (shm's futexWait).

// pollWait is the state of one waiter's polling (see engine.startPoll).
// The caller calls stop when it is done, whatever the outcome.
type pollWait struct {
	e     *engine
	peer  *atomic.Int32 // the world rank the wait depends on, or AnySource
	i     int
	start time.Time
	yield time.Time // with passive links: when the waiter last yielded its P
	on    bool
	gated bool // counted in e.pollers
}

// startPoll starts a wait's polling: peer holds the world rank whose link
// it depends on (it may change while the wait goes on: a receive from any
// source that matched a large message then waits for its sender).
func (e *engine) startPoll(peer *atomic.Int32) pollWait {
	return pollWait{e: e, peer: peer, on: e.cfg.Spin > 0 && (e.yieldPoll || len(e.passive) > 0 && !e.osYield)}
}

// next polls once more, after yielding as the policy says, and reports
// whether the caller should look at its condition again; false means
// park. The caller checks its condition between calls.
//
// Oversubscribed (Config.Yield), a waiter gives its CPU to other
// processes between polls (the rank it waits for gets to run), counts
// each poll as eight, and now and then polls every link (see pollAll).
// Every eighth poll it lets the runtime run the link readers; the clock is
// first read then, as most waits end before. A rank with passive links
// and a CPU of its own reads the clock every eighth poll instead and
// yields every passiveYield (see there).
func (w *pollWait) next() bool {
	if !w.on {
		return false
	}
	e := w.e
	if w.i == 0 && len(e.passive) > 0 {
		e.beginPolling()
		w.gated = true
	}
	if w.i > 0 {
		if e.osYield {
			schedYield()
			w.i |= 7
			if w.i&31 == 31 {
				e.pollAll()
			}
		}
		if w.i&7 == 7 {
			if w.gated && !e.osYield {
				now := time.Now()
				if w.i == 7 {
					w.start, w.yield = now, now
				} else {
					if now.Sub(w.yield) >= passiveYield {
						runtime.Gosched()
						w.yield = time.Now()
					}
					if now.Sub(w.start) > e.pollSpin {
						w.stop()
						return false
					}
				}
			} else {
				runtime.Gosched()
				if w.i == 7 {
					w.start = time.Now()
				} else if time.Since(w.start) > e.pollSpin {
					w.stop()
					return false
				}
			}
		}
	}
	w.i++
	peer := int(w.peer.Load())
	if peer == AnySource {
		e.pollAll() // the passive links among them
		return true
	}
	var own link
	if peer != e.rank {
		if own = e.links[peer]; own != nil {
			own.poll()
		}
	}
	for _, l := range e.passive {
		if l != own {
			l.poll()
		}
	}
	return true
}

// passiveYield is how long a waiter that polls passive links, on a rank
// with a CPU of its own, polls between two yields of its P (to the rank's
// other goroutines: link readers, the user's). A poll of a shared-memory
// link costs tens of nanoseconds and runtime.Gosched some hundreds: at
// every eighth poll, as over TCP (whose polls are system calls), the
// yields took a third of the waiter's time.
var passiveYield = 2 * time.Microsecond

// stop ends the polling; idempotent.
func (w *pollWait) stop() {
	w.on = false
	if w.gated {
		w.gated = false
		w.e.endPolling()
	}
}

// hider is a passive link whose reader's sleep can be hidden from the
// peer while the rank's waiters poll it (shmLink).
type hider interface {
	hideReader()
	showReader()
}

// beginPolling counts a polling waiter; the first hides the passive
// links' readers from their peers, so that a reader asleep on its
// channel costs the peer's messages no wake-up while waiters take them.
func (e *engine) beginPolling() {
	e.gateMu.Lock()
	e.pollers++
	if e.pollers == 1 {
		for _, l := range e.passive {
			if h, ok := l.(hider); ok {
				h.hideReader()
			}
		}
	}
	e.gateMu.Unlock()
}

// endPolling undoes beginPolling; the last waiter shows the readers again
// (each is woken if a message came meanwhile) and wakes those parked in
// awaitNoPollers.
func (e *engine) endPolling() {
	e.gateMu.Lock()
	e.pollers--
	if e.pollers == 0 {
		for _, l := range e.passive {
			if h, ok := l.(hider); ok {
				h.showReader()
			}
		}
		e.gateCond.Broadcast()
	}
	e.gateMu.Unlock()
}

// awaitNoPollers parks a passive link's reader while waiters poll, until
// none does or stop reports true, and reports whether it parked. (A
// condition variable, not a channel per polling episode: a Wait then
// allocates nothing.)
func (e *engine) awaitNoPollers(stop func() bool) bool {
	e.gateMu.Lock()
	parked := false
	for e.pollers > 0 && !stop() {
		e.gateCond.Wait()
		parked = true
	}
	e.gateMu.Unlock()
	return parked
}

// wakePollerWaits wakes the readers parked in awaitNoPollers, to look at
// their stop condition (a link closed).
func (e *engine) wakePollerWaits() {
	e.gateMu.Lock()
	e.gateCond.Broadcast()
	e.gateMu.Unlock()
}

// findPassive lists the passive links, once every link is in place, and
// sets how long a waiter polls: Config.Spin with one P (the waiter is what
// runs the rank's links); otherwise at most passiveSpin, since the rank's
// other goroutines (and, in one process, other ranks) need the Ps that
// polling waiters hold.
func (e *engine) findPassive() {
	e.pollSpin = e.cfg.Spin
	if !e.yieldPoll {
		e.pollSpin = min(e.cfg.Spin, passiveSpin)
	}
	for _, l := range e.links {
		if p, ok := l.(interface{ passive() bool }); ok && p.passive() {
			e.passive = append(e.passive, l)
		}
	}
}

// pollPeer makes progress on behalf of a waiter: it processes what has
// arrived on the link to peer (every link for AnySource).
func (e *engine) pollPeer(peer int) {
	if peer == e.rank {
		return
	}
	if peer != AnySource {
		if l := e.links[peer]; l != nil {
			l.poll()
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
		if l != nil && p != e.rank {
			l.poll()
		}
	}
}

// passiveSpin bounds a waiter's polling of passive links on a rank with
// several Ps (see findPassive).
const passiveSpin = 50 * time.Microsecond

// spinWait reports whether a poll loop inside a link that found nothing
// should try again: for up to spin after its first call (which sets
// *until), yielding the processor between tries.
func spinWait(until *time.Time, spin time.Duration, yield bool) bool {
	if spin <= 0 {
		return false
	}
	now := time.Now()
	if until.IsZero() {
		*until = now.Add(spin)
	} else if now.After(*until) {
		return false
	}
	runtime.Gosched()
	if yield {
		schedYield()
	}
	return true
}
