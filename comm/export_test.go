package comm

import (
	"net"

	"github.com/gorun-hpc/gorun/comm/internal/wire"
)

// KillLinks drops every connection of c's process without saying goodbye,
// as if the process had died, for tests of peer loss.
func KillLinks(c *Comm) {
	e := c.e
	e.mu.Lock()
	links := append([]link(nil), e.links...)
	e.mu.Unlock()
	for _, l := range links {
		if l != nil {
			l.close()
		}
	}
}

// QueuedEagerBytes is what the eager messages from world rank src that wait
// for a receive in c's process cost against src's eager window.
func QueuedEagerBytes(c *Comm, src int) int {
	e := c.e
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, m := range e.unexpected[src] {
		if !m.rts {
			n += m.size + wire.EagerOverhead
		}
	}
	return n
}

// UnexpectedCount is the number of messages waiting for a receive in c's
// process, by the engine's count and by its queues' lengths.
func UnexpectedCount(c *Comm) (count, queued int) {
	e := c.e
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, q := range e.unexpected {
		queued += len(q)
	}
	return e.unexpCount, queued
}

// SetListenerHook makes every rank connected from now on wrap its
// listener with f, until the returned function is called.
func SetListenerHook(f func(net.Listener) net.Listener) (restore func()) {
	listenerHook = f
	return func() { listenerHook = nil }
}

// LinkCMA reports whether c's process's link to world rank peer is a
// shared-memory link whose receiver copies large payloads straight from
// the sender's memory (process_vm_readv), and whether it is one at all.
func LinkCMA(c *Comm, peer int) (cma, shm bool) {
	l, ok := c.e.links[peer].(*shmLink)
	if !ok {
		return false, false
	}
	return l.ch.CMA(), true
}
