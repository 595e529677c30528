//go:build linux && !gorun_portable

package comm

import (
	"errors"
	"io"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gorun-hpc/gorun/comm/internal/wire"
)

var errWouldBlock = errors.New("would block")

// rawSource reads the non-blocking socket. With nonblock set, a read that
// finds nothing returns errWouldBlock; otherwise it polls for up to spin,
// then parks until data arrives. Used only under rxMu.
//
// Attempts go through RawConn.Control: in the runtime's poller
// (pollerWaiter), the connection's read lock may be held by the link's
// reader goroutine, parked in waitReadable, and a goroutine that wants to
// drain the link itself must not queue behind it. Only parking waits for
// that lock.
type rawSource struct {
	rc       syscall.RawConn
	wait     waiter
	nonblock bool
	spin     time.Duration // waiting inside a frame: poll this long before parking
	yield    bool          // and yield the CPU to other processes between polls

	// With peek set (Config.TCP.PeekReads; the socket has SO_PEEK_OFF), a
	// read leaves the bytes queued in the kernel, which counts them off
	// with its peek offset, unless the link has sent since the last read
	// that took bytes: that send carried the acknowledgement, so this
	// read takes the bytes, the unconsumed ones with them. consume
	// discards them otherwise, once unconsumed reaches consumeAt or
	// before the goroutine parks. (Taking a small segment out of the
	// queue makes the kernel send a bare acknowledgement inside the read
	// when two small segments arrived since this side last sent; see
	// Config.TCP.PeekReads.) Bulk data gains nothing from it, and leaving
	// bytes queued would only add a system call: after a read of
	// consumeAt or more, reads take the bytes until one returns less, and
	// so does every read of a payload of consumeAt or more, in whatever
	// pieces it arrives (over a real network, often a segment or two).
	peek       bool
	bulk       bool           // the last read returned consumeAt or more
	large      bool           // reading the payload of a frame of consumeAt or more
	sends      *atomic.Uint64 // the link's writes so far
	taken      uint64         // *sends before the last read that took bytes
	unconsumed int
	cerr       error // a failed discard, reported by the next read
	consumeCb  func(fd uintptr)
	drop       []byte // where a read that takes bytes puts the unconsumed ones
	iov        [2]unix.Iovec
	msg        unix.Msghdr

	// State of the read in progress, shared with the callback, which is
	// made once (s.attempt), so that a read allocates nothing.
	b        []byte
	n        int
	err      error
	until    time.Time
	callback func(fd uintptr)
	parkedCb func(fd uintptr) bool

	parking func() // tests: called just before a read parks
}

func (s *rawSource) Read(b []byte) (int, error) {
	if s.callback == nil {
		s.callback, s.parkedCb, s.consumeCb = s.attempt, s.parked, s.consume
	}
	s.b, s.n, s.err, s.until = b, 0, nil, time.Time{}
	var rerr error
	for {
		if rerr = s.rc.Control(s.callback); rerr != nil || s.err != unix.EAGAIN {
			break
		}
		if s.nonblock {
			break
		}
		// The rest of a frame is in flight: poll for it briefly rather
		// than pay a park and wake-up, then park.
		if !spinWait(&s.until, s.spin, s.yield) {
			if s.unconsumed > 0 {
				// Bytes left queued would keep the socket readable.
				if rerr = s.rc.Control(s.consumeCb); rerr != nil {
					break
				}
			}
			if s.parking != nil {
				s.parking()
			}
			rerr = s.wait.wait(unix.EPOLLIN|unix.EPOLLRDHUP, s.parkedCb)
			break
		}
	}
	n, err := s.n, s.err
	s.b = nil
	switch {
	case rerr != nil:
		return 0, rerr
	case err == unix.EAGAIN:
		return 0, errWouldBlock
	case err != nil:
		return 0, err
	case n == 0 && len(b) > 0:
		return 0, io.EOF
	}
	return n, nil
}

// consumeAt is the most a peeking source leaves read but queued in the
// kernel before it discards it (see rawSource.peek).
const consumeAt = 4 << 10

// attempt makes one recv(2) (retried on EINTR) into s.b. A peeking
// source peeks unless the link has sent since its last read that took
// bytes: that send carried the acknowledgement, so taking the bytes now
// costs none, and the read takes the unconsumed ones too.
func (s *rawSource) attempt(fd uintptr) {
	if s.cerr != nil {
		s.n, s.err = 0, s.cerr
		return
	}
	if !s.peek {
		s.recv(fd, 0)
		return
	}
	sends := s.sends.Load()
	if !s.bulk && !s.large && sends == s.taken {
		s.recv(fd, unix.MSG_PEEK)
		if s.err == nil {
			s.bulk = s.n >= consumeAt
			s.unconsumed += s.n
			if s.unconsumed >= consumeAt {
				s.consume(fd)
			}
		}
		return
	}
	queued := s.unconsumed
	if queued == 0 {
		s.recv(fd, 0)
	} else {
		s.recvAfter(fd)
	}
	if s.err == nil {
		s.bulk = s.n >= consumeAt
	}
	if s.err == nil || s.unconsumed < queued {
		s.taken = sends
	}
}

// recv is one recv(2) into s.b with flags, retried on EINTR.
func (s *rawSource) recv(fd, flags uintptr) {
	for {
		r, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(unsafe.SliceData(s.b))), uintptr(len(s.b)), flags, 0, 0)
		s.n, s.err = int(r), nil
		if e != 0 {
			s.n, s.err = 0, e
		}
		if s.err != unix.EINTR {
			return
		}
	}
}

// recvAfter takes the unconsumed bytes and reads after them into s.b, in
// one recvmsg(2): the unconsumed ones land in s.drop.
func (s *rawSource) recvAfter(fd uintptr) {
	if s.unconsumed > consumeAt {
		// Not where attempt leaves it; s.drop would be too small.
		if s.consume(fd); s.cerr != nil {
			s.n, s.err = 0, s.cerr
			return
		}
		s.recv(fd, 0)
		return
	}
	if s.drop == nil {
		s.drop = make([]byte, consumeAt)
	}
	s.iov[0].Base = unsafe.SliceData(s.drop)
	s.iov[0].SetLen(s.unconsumed)
	s.iov[1].Base = unsafe.SliceData(s.b)
	s.iov[1].SetLen(len(s.b))
	s.msg.Iov = &s.iov[0]
	s.msg.SetIovlen(2)
	for {
		r, _, e := unix.RawSyscall(unix.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&s.msg)), 0)
		switch {
		case e == unix.EINTR:
			continue
		case e != 0:
			s.n, s.err = 0, e
		case r == 0:
			// Unreachable: queued bytes come before the end of the
			// stream.
			s.n, s.err = 0, io.ErrUnexpectedEOF
		default:
			took := min(int(r), s.unconsumed)
			s.unconsumed -= took
			s.n, s.err = int(r)-took, nil
			if s.n == 0 {
				s.err = unix.EAGAIN // only the unconsumed bytes: nothing new
			}
		}
		s.iov = [2]unix.Iovec{}
		return
	}
}

// consume discards the bytes read but still queued (recv(2) with
// MSG_TRUNC, which copies nothing). A failure is kept for the next read:
// the bytes already read are good.
func (s *rawSource) consume(fd uintptr) {
	for s.unconsumed > 0 {
		r, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, fd, 0, uintptr(s.unconsumed), unix.MSG_TRUNC|unix.MSG_DONTWAIT, 0, 0)
		switch {
		case e == unix.EINTR:
			continue
		case e != 0:
			s.cerr = e
			return
		case r == 0:
			s.cerr = io.ErrUnexpectedEOF
			return
		}
		s.unconsumed -= int(r)
	}
}

// parked is the check of a read that parks: false until recv(2) finds
// data, end of stream or an error.
func (s *rawSource) parked(fd uintptr) bool {
	s.attempt(fd)
	return s.err != unix.EAGAIN
}

// frameLocked reads and processes one frame, waiting for it if need be.
func (l *tcpLink) frameLocked() error {
	if _, err := io.ReadFull(l.br, l.hb[:]); err != nil {
		return err
	}
	var err error
	if l.h, err = wire.Decode(l.hb[:], frameLimits); err == nil {
		// A large payload is bulk data however small the pieces it
		// arrives in: read it without peeking (see rawSource.peek).
		l.src.large = (l.h.Type == wire.Eager || l.h.Type == wire.Data) && l.h.Len >= consumeAt
		if l.h.Type == wire.Bye {
			// Before handleFrame lets Close go on to close the socket.
			l.consumeLocked()
		}
		err = l.e.handleFrame(l.peer, &l.h, l.br)
		l.src.large = false
	}
	l.frames.Add(1)
	return err
}

// pollLocked processes the frames that have arrived, without waiting for
// more (a frame already begun is read to its end). It reports whether it
// processed any. The caller holds rxMu.
//
// Once it has processed the frames one read brought, it returns without
// another read unless the host is oversubscribed: that read would
// usually find nothing, and the waiter whose message just arrived would
// pay for it (np 2, 7 alternating rounds, medians: 8-byte Allreduce 4.27
// → 3.93 µs back to back, Bcast by OSU's method 4.23 → 3.63; bench/p2p
// ping-pong, 5 alternating runs, 3.57-3.74 → 3.30-3.50). An
// oversubscribed rank drains the socket while it has the CPU instead
// (there the change measured mixed: np 4 Bcast by OSU's method 8.1 →
// 11.8 µs, np 8 26.8 → 22.5).
func (l *tcpLink) pollLocked() bool {
	progressed := false
	for l.rxErr == nil {
		if l.br.Buffered() == 0 {
			if progressed && !l.e.osYield {
				return true
			}
			l.src.nonblock = true
			_, err := l.br.Peek(1)
			l.src.nonblock = false
			if err == errWouldBlock {
				return progressed
			}
			if err != nil {
				l.endLocked(err)
				return true
			}
		}
		progressed = true
		if err := l.frameLocked(); err != nil {
			l.endLocked(err)
		}
	}
	return progressed
}

// endLocked ends reading on the link: after a Bye that is normal; any other
// error means the peer is lost (or misbehaved, which is logged).
func (l *tcpLink) endLocked(err error) {
	if l.rxErr != nil {
		return
	}
	l.rxErr = err
	l.ended.Store(true)
	l.consumeLocked()
	if errors.Is(err, errBye) {
		return
	}
	if errors.Is(err, wire.ErrMalformed) || errors.Is(err, ErrProtocol) {
		l.e.logf("gorun: rank %d: closing link to rank %d: %v", l.e.rank, l.peer, err)
	}
	l.e.linkDown(l.peer, err)
	l.close()
}

// consumeLocked discards the bytes the reader has read but left queued
// (rawSource.peek): closing a socket with bytes queued sends a reset
// instead of the end of the stream. Best effort: on a broken socket it
// fails, and a reset is what that socket sends anyway. Caller holds rxMu.
func (l *tcpLink) consumeLocked() {
	if l.src.unconsumed > 0 && l.src.cerr == nil {
		l.rc.Control(l.src.consume)
	}
}

// poll processes what has arrived on the link if no other goroutine is
// reading it. It is how a waiting goroutine completes its own request
// without a hand-off from the reader.
func (l *tcpLink) poll() bool {
	if l.ended.Load() || !l.rxMu.TryLock() {
		return false
	}
	progressed := l.pollLocked()
	l.rxMu.Unlock()
	return progressed
}

// readLoop is the link's reader goroutine. While goroutines wait for
// messages and frames keep arriving, it polls the socket (yielding between
// attempts); after Config.Spin without a frame, or when nobody waits, it
// reads the next frame, parking if none comes. With
// Config.Yield the waiters poll and the reader parks at once, until the
// socket is readable, without holding rxMu, so that a waiter can still
// drain the link itself.
func (l *tcpLink) readLoop() {
	defer close(l.done)
	e := l.e
	var seen uint64  // l.frames when last looked at
	var active int64 // when frames last moved (e.now())
	for i := 0; ; i++ {
		if n := l.frames.Load(); n != seen {
			seen, active = n, e.now()
		}
		now := e.now()
		if e.cfg.Spin > 0 && !e.osYield && (e.waiting.Load() > 0 && now-active < int64(e.cfg.Spin) || e.yieldPoll && now-e.tested.Load() < int64(e.cfg.Spin)) {
			// With one P, the waiters poll their own links: poll only
			// now and then, for traffic nobody waits for yet.
			if !e.yieldPoll || i&7 == 0 {
				l.rxMu.Lock()
				l.pollLocked()
				ended := l.rxErr != nil
				l.rxMu.Unlock()
				if ended {
					return
				}
			}
			runtime.Gosched()
			continue
		}
		if !e.osYield {
			// Read the next frame, polling for Spin and then parking,
			// holding rxMu: the reader does the work, and a waiter
			// that finds the link busy yields to it. (With polling
			// off, np 2, 8-byte Allreduce: 35-49 µs, against 44-59
			// when this reader too parked without rxMu and then
			// peeked.)
			l.rxMu.Lock()
			if l.rxErr == nil {
				if err := l.frameLocked(); err != nil {
					l.endLocked(err)
				} else {
					l.pollLocked()
				}
			}
			ended := l.rxErr != nil
			l.rxMu.Unlock()
			if ended {
				return
			}
			continue
		}
		// Yielding waiters poll their links themselves: park until the
		// socket has data without holding rxMu, so that a waiter can
		// drain the link (poll) instead of waiting for this goroutine
		// to be scheduled, which a spinning waiter would delay.
		if err := l.waitReadable(); err != nil {
			l.rxMu.Lock()
			l.endLocked(err)
			l.rxMu.Unlock()
			return
		}
		l.rxMu.Lock()
		if l.rxErr == nil {
			l.pollLocked()
		}
		ended := l.rxErr != nil
		l.rxMu.Unlock()
		if ended {
			return
		}
	}
}

// waitReadable returns once the socket has data (or end of stream, or an
// error to report) without consuming any, parking while it has none. It
// runs only on oversubscribed ranks, whose reads never peek: its one-byte
// peek would move a peeking socket's offset (setWaiters).
func (l *tcpLink) waitReadable() error {
	if l.peekCallback == nil {
		l.peekCallback = l.peekAttempt
	}
	return l.peekWait.wait(unix.EPOLLIN|unix.EPOLLRDHUP, l.peekCallback)
}

// peekAttempt is waitReadable's test: true once a one-byte MSG_PEEK finds
// data or end of stream, or fails with an error other than "would block"
// (which the read that follows then meets).
func (l *tcpLink) peekAttempt(fd uintptr) bool {
	for {
		_, _, e := unix.Syscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&l.peekBuf[0])), 1, unix.MSG_PEEK, 0, 0)
		switch e {
		case 0:
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		return true
	}
}
