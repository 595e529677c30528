//go:build linux && !gorun_portable

package comm

import (
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// A link's socket is kept out of the runtime's network poller when its
// rank has a CPU of its own (see tcpLink.setWaiters). A socket that an
// epoll set watches runs epoll's wake-up callback for every segment that
// arrives, inside the sender's delivery of it (with the receiving socket
// locked), even while the receiver is busy polling the socket itself and
// nobody sleeps on it. Links poll their sockets while ranks wait, and park
// only after a while, so the socket joins an epoll set only while a
// goroutine is parked on it (see parker). np 2, 11
// alternating rounds, medians, µs, before/after: one Bcast of 8 B after a
// Barrier, until the last rank left, 4.5/3.9; back to back, Bcast 8 B
// 2.54/2.46, Allreduce 8 B 3.80/3.59 (7 rounds); ping-pong of 8 B
// 3.26/3.13 (5 runs).

// detach moves c's socket out of the runtime's network poller. It returns
// a file for a new descriptor of the socket, non-blocking, that the runtime
// does not poll, and closes c (the connection stays open through the new
// descriptor). Use the file's RawConn for Control only; park with a parker.
func detach(c *net.TCPConn) (*os.File, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	nfd, derr := -1, error(nil)
	if err := rc.Control(func(fd uintptr) {
		nfd, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, derr
	}
	c.Close()
	// os.NewFile hands a non-blocking descriptor to the poller: give it a
	// blocking one, then make it non-blocking again. (The flag belongs to
	// the open file that c's descriptor shared, and that one is closed.)
	if err := unix.SetNonblock(nfd, false); err != nil {
		unix.Close(nfd)
		return nil, err
	}
	f := os.NewFile(uintptr(nfd), "tcp link")
	if err := unix.SetNonblock(nfd, true); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// A waiter parks a goroutine until a link's socket is ready for check.
// wait calls check on the socket's descriptor until it reports true,
// parking between calls until the socket has one of events (EPOLLIN,
// EPOLLOUT; errors and hang-ups always count). It fails once the waiter
// or the socket is closed. One goroutine at a time may wait on a waiter;
// close wakes it, and may be called from any goroutine.
type waiter interface {
	wait(events uint32, check func(fd uintptr) bool) error
	close()
}

// pollerWaiter parks in the runtime's network poller, where the socket
// stays registered. Oversubscribed ranks use it: their readers park after
// every poll, and waking through a parker's set of its own cost more than
// the callbacks it saves (np 4 and 8, 9 alternating rounds: 1-3 % slower
// at most points of Bcast and Allreduce).
type pollerWaiter struct{ rc syscall.RawConn }

func (w pollerWaiter) wait(events uint32, check func(fd uintptr) bool) error {
	if events&unix.EPOLLOUT != 0 {
		return w.rc.Write(check)
	}
	return w.rc.Read(check)
}

func (pollerWaiter) close() {} // closing the connection wakes it

// parker parks a goroutine through an epoll set of its own: the set is in
// the runtime's poller, and holds the socket only while a goroutine waits
// (wait adds it and removes it again). Its callbacks are made once, so
// that parking allocates nothing.
type parker struct {
	f    *os.File        // the epoll set
	rc   syscall.RawConn // f's
	sock syscall.RawConn // the socket's (Control only)

	// state of the wait in progress, shared with the callbacks
	events uint32
	op     int
	epfd   uintptr
	ev     [1]unix.EpollEvent
	err    error
	check  func(fd uintptr) bool // the wait's, on the socket
	ok     bool

	ctlOuter   func(fd uintptr)
	ctlInner   func(fd uintptr)
	checkOuter func(fd uintptr) bool
	checkInner func(fd uintptr)
}

func newParker(sock syscall.RawConn) (*parker, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		return nil, err
	}
	p := &parker{f: os.NewFile(uintptr(epfd), "link parker"), sock: sock}
	if p.rc, err = p.f.SyscallConn(); err != nil {
		p.f.Close()
		return nil, err
	}
	p.ctlOuter = func(epfd uintptr) {
		p.epfd = epfd
		if err := p.sock.Control(p.ctlInner); err != nil {
			p.err = err
		}
	}
	p.ctlInner = func(sfd uintptr) {
		p.ev[0] = unix.EpollEvent{Events: p.events, Fd: int32(sfd)}
		if err := unix.EpollCtl(int(p.epfd), p.op, int(sfd), &p.ev[0]); err != nil {
			p.err = os.NewSyscallError("epoll_ctl", err)
		}
	}
	// The set's ready list is never drained: the socket's events reach the
	// runtime's poller through the set's own wake-up whether or not the
	// socket is listed ready already, and check looks at the socket itself.
	p.checkOuter = func(uintptr) bool {
		if err := p.sock.Control(p.checkInner); err != nil {
			p.err = err
			return true
		}
		return p.ok
	}
	p.checkInner = func(sfd uintptr) { p.ok = p.check(sfd) }
	return p, nil
}

// ctl adds the socket to the set or removes it, holding both descriptors.
func (p *parker) ctl(op int) error {
	p.op, p.err = op, nil
	if err := p.rc.Control(p.ctlOuter); err != nil {
		return err
	}
	return p.err
}

func (p *parker) wait(events uint32, check func(fd uintptr) bool) error {
	p.events = events
	if err := p.ctl(unix.EPOLL_CTL_ADD); err != nil {
		return err
	}
	p.check, p.err = check, nil
	err := p.rc.Read(p.checkOuter)
	p.check = nil
	p.ctl(unix.EPOLL_CTL_DEL) // fails if the socket was closed meanwhile: it has left the set then
	if err == nil {
		err = p.err
	}
	return err
}

func (p *parker) close() { p.f.Close() }
