package comm

import (
	"context"
	"errors"
	"fmt"
	"net"
)

// A transport makes and owns the links of one kind. It decides what the
// rank publishes in the store for them, which pairs it serves, and how a
// pair's link is set up and started. Every pair first connects over TCP
// and proves the job secret there (tcpTransport, tcpmesh.go); the
// authenticated connection then goes to the first transport of
// engine.transports that serves the pair, which may keep it as the link
// (TCP) or use it to set up another (shared memory, which keeps the
// connection open as the pair's liveness signal).
//
// The methods are called during start-up only, from Connect's goroutine
// (publish, close) and from the goroutine setting a pair up (serves,
// setup), several pairs at once.
type transport interface {
	// name is the transport's name in Config.Transport and in log lines.
	name() string
	// publish stores under this rank's keys what peers need to set up
	// links of this kind with it. It runs before any peer can connect.
	publish(ctx context.Context) error
	// serves reports whether this transport links the pair with peer. An
	// error means the pair cannot be linked as configured (start-up
	// fails with it).
	serves(ctx context.Context, peer int) (bool, error)
	// setup makes the link to peer over c, which has passed the job's
	// handshake, registers it (engine.addLink) and starts it. lower says
	// this rank is the pair's lower rank (it accepted c). errFallback
	// means both sides agreed to let the next transport set the pair up
	// over the same connection; any other error fails the pair.
	setup(ctx context.Context, peer int, c *net.TCPConn, lower bool) error
	// close ends what the transport runs for start-up (a listener); the
	// links are closed by engine.closeLinks.
	close()
}

// errFallback is a transport's "not this pair after all": the next
// transport sets the pair up (see transport.setup).
var errFallback = errors.New("comm: transport falls back")

// The Linux-only part of the TCP transport lives in files named *_linux.go
// (build constraint "linux && !gorun_portable"); a portable build provides
// the same set in files of its own:
//
//	func (e *engine) startTCPLink(peer int, c *net.TCPConn) error
//		makes a TCP link over c (authenticated, deadline cleared),
//		registers it with e.addLink and starts its reader: a link as the
//		link interface says, whose reader hands frames to
//		e.handleFrame in arrival order and calls e.linkDown when the
//		connection ends;
//	func (e *engine) setCongestion(network, address string, c syscall.RawConn) error
//		the Control function of the listener and the dialer (may do
//		nothing);
//	func schedYield()
//		gives the thread's CPU to another process, if any (may do
//		nothing);
//	const tcpLinksPoll bool
//		whether a waiter's tcpLink.poll can make progress; when it
//		cannot, waiters park at once instead of polling (Connect).
//
// Tests that look inside a tcpLink are *_linux_test.go files under the
// same constraint.

// startPair sets up the link to peer over c, an authenticated connection:
// the first transport that serves the pair does it.
func (e *engine) startPair(ctx context.Context, peer int, c *net.TCPConn, lower bool) error {
	for _, t := range e.transports {
		ok, err := t.serves(ctx, peer)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		err = t.setup(ctx, peer, c, lower)
		if errors.Is(err, errFallback) {
			continue
		}
		if err != nil {
			return fmt.Errorf("%s link to rank %d: %w", t.name(), peer, err)
		}
		return nil
	}
	return fmt.Errorf("no transport links rank %d", peer)
}

// addLink registers l as the link to peer. Called by a transport's setup,
// before the link's reader starts.
func (e *engine) addLink(peer int, l link) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.links[peer] != nil {
		return fmt.Errorf("already connected to rank %d", peer)
	}
	e.links[peer] = l
	return nil
}

// closeTransports ends the transports' start-up machinery.
func (e *engine) closeTransports() {
	for _, t := range e.transports {
		t.close()
	}
}
