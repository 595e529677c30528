package comm

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gorun-hpc/gorun/comm/internal/wire"
)

// tcpLink is a link over one authenticated TCP connection. Writers share
// the connection under wmu. Reading and frame processing happen under rxMu,
// by the link's reader goroutine or by a goroutine waiting for a request on
// this link (see Request.Wait): frames are still processed one at a time,
// in arrival order.
type tcpLink struct {
	e    *engine
	peer int
	sock io.Closer       // the socket: a *net.TCPConn, or an *os.File outside the runtime's network poller (see detach)
	rc   syscall.RawConn // sock's, used for Control
	// Waiters for the three places that wait for the socket: a write
	// (under wmu), a read (under rxMu) and waitReadable (the reader,
	// without rxMu).
	txWait, rxWait, peekWait waiter

	wmu   sync.Mutex // guards the write side and the buffers below
	wbuf  []byte
	hbuf  [wire.HeaderSize]byte
	iov   [2][]byte
	iovec [2]unix.Iovec
	// the write in progress (see writeFull)
	wbufs     [][]byte
	werr      error
	wuntil    time.Time
	wdone     bool
	wcallback func(fd uintptr)
	wcheck    func(fd uintptr) bool

	rxMu   sync.Mutex
	src    rawSource
	br     *bufio.Reader
	hb     [wire.HeaderSize]byte
	h      wire.Header   // the frame being processed
	rxErr  error         // reading has ended (under rxMu)
	ended  atomic.Bool   // rxErr is set
	frames atomic.Uint64 // frames processed so far (the reader samples it)
	sends  atomic.Uint64 // writes made so far (see rawSource.sends)

	// waitReadable's state (made once: parking allocates nothing)
	peekBuf      [1]byte
	peekCallback func(fd uintptr) bool

	// Control frames (see sendControl), under cmu: queued in order and
	// written by one goroutine at a time, never by the one that queues
	// them once writing would wait.
	cmu     sync.Mutex
	ctl     []wire.Header
	ctlBusy bool          // a drainer goroutine owns the queue
	ctlShut bool          // a Bye is queued: later control frames are dropped
	ctlIdle chan struct{} // closed when the drainer finishes (made by flushControl)
	ctlErr  error         // the write that failed, if one did
	ctlBuf  []byte        // the drainer's encoding buffer
	// the fast path's one write attempt (under wmu and cmu)
	cfb  [wire.HeaderSize]byte
	cfn  int
	cfe  syscall.Errno
	cfcb func(fd uintptr)
	// drainers running: closeLinks waits for them
	writers sync.WaitGroup

	closeOnce sync.Once
	done      chan struct{} // closed when the reader goroutine returns
}

// sendControl queues a control frame (CTS, Cancel, Credit, Withdraw,
// Withdrawn, Bye) for the link and returns without waiting for the
// socket: it is what a link's reader uses to answer a frame, and a reader
// that waited for socket space, perhaps behind a data chunk of its own
// rank's, could wait for a peer whose reader waits the same way. Control
// frames are written in the order they were queued. A failed write ends
// the link (the reader then reports the peer's loss). After a Bye, further
// control frames are dropped. Safe for concurrent use.
//
// When the writer is free and the socket has room, the frame is written
// at once, with one non-blocking send(2); otherwise a drainer goroutine
// writes the queue.
func (l *tcpLink) sendControl(h wire.Header) {
	l.cmu.Lock()
	defer l.cmu.Unlock()
	if l.ctlShut {
		return
	}
	if h.Type == wire.Bye {
		l.ctlShut = true
	}
	if !l.ctlBusy && l.wmu.TryLock() {
		if l.cfcb == nil {
			l.cfcb = l.controlAttempt
		}
		h.Encode(l.cfb[:])
		l.cfn, l.cfe = 0, 0
		err := l.rc.Control(l.cfcb)
		switch {
		case err == nil && l.cfe == 0 && l.cfn == wire.HeaderSize:
			l.wmu.Unlock()
			return
		case err == nil && l.cfe == 0 && l.cfn > 0:
			// Part of the frame is on the wire: the drainer writes the
			// rest first, holding wmu from here on.
			rest := append([]byte(nil), l.cfb[l.cfn:]...)
			l.startDrain(rest)
			return
		}
		l.wmu.Unlock()
	}
	l.ctl = append(l.ctl, h)
	if !l.ctlBusy {
		l.startDrain(nil)
	}
}

var zeroHeader [wire.HeaderSize]byte

// controlAttempt is sendControl's one write attempt, made once: it
// reports in cfn and cfe.
func (l *tcpLink) controlAttempt(fd uintptr) {
	for {
		r, _, e := unix.RawSyscall6(unix.SYS_SENDTO, fd, uintptr(unsafe.Pointer(&l.cfb[0])), wire.HeaderSize, unix.MSG_NOSIGNAL|unix.MSG_DONTWAIT, 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e == 0 {
			l.cfn = int(r)
			l.sends.Add(1)
		}
		l.cfe = e
		return
	}
}

// startDrain starts the goroutine that writes the control queue; rest,
// if not nil, is the tail of a frame already begun, and the caller holds
// wmu for it. Caller holds cmu.
func (l *tcpLink) startDrain(rest []byte) {
	l.ctlBusy = true
	l.writers.Add(1)
	go l.drainControl(rest)
}

func (l *tcpLink) drainControl(rest []byte) {
	defer l.writers.Done()
	var err error
	if rest != nil {
		l.iov[0], l.iov[1] = rest, nil
		err = l.writeFull(l.iov[:1])
		l.wmu.Unlock()
	}
	for err == nil {
		l.cmu.Lock()
		if len(l.ctl) == 0 {
			break
		}
		b := l.ctlBuf[:0]
		for _, h := range l.ctl {
			b = append(b, zeroHeader[:]...)
			h.Encode(b[len(b)-wire.HeaderSize:])
		}
		l.ctl = l.ctl[:0]
		l.ctlBuf = b
		l.cmu.Unlock()
		l.wmu.Lock()
		l.iov[0], l.iov[1] = b, nil
		err = l.writeFull(l.iov[:1])
		l.wmu.Unlock()
	}
	if err != nil {
		l.cmu.Lock()
		l.ctl = l.ctl[:0]
	}
	// cmu is held
	l.ctlBusy = false
	if err != nil && l.ctlErr == nil {
		l.ctlErr = err
	}
	if l.ctlIdle != nil {
		close(l.ctlIdle)
		l.ctlIdle = nil
	}
	l.cmu.Unlock()
	if err != nil {
		l.e.linkDown(l.peer, err)
		l.close()
	}
}

// flushControl waits until the control frames queued so far are written
// and returns the error of a write that failed, if any.
func (l *tcpLink) flushControl() error {
	l.cmu.Lock()
	if l.ctlBusy {
		if l.ctlIdle == nil {
			l.ctlIdle = make(chan struct{})
		}
		ch := l.ctlIdle
		l.cmu.Unlock()
		<-ch
		l.cmu.Lock()
	}
	err := l.ctlErr
	l.cmu.Unlock()
	return err
}

// smallWrite is the payload size up to which header and payload are copied
// into one buffer and written with one send(2); larger payloads go out
// with writev and no copy.
const smallWrite = 16 << 10

func (l *tcpLink) send(h wire.Header, payload []byte) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if len(payload) <= smallWrite {
		b := l.wbuf[:wire.HeaderSize]
		h.Encode(b)
		b = append(b, payload...)
		l.wbuf = b[:0]
		l.iov[0], l.iov[1] = b, nil
		return l.writeFull(l.iov[:1])
	}
	h.Encode(l.hbuf[:])
	l.iov[0], l.iov[1] = l.hbuf[:], payload
	return l.writeFull(l.iov[:2])
}

// close closes the socket. A goroutine parked on it wakes with an error;
// the descriptor itself is closed once no system call uses it.
func (l *tcpLink) close() error {
	l.closeOnce.Do(func() {
		for _, w := range []waiter{l.txWait, l.rxWait, l.peekWait} {
			w.close()
		}
		l.sock.Close()
	})
	return nil
}

var errWouldBlock = errors.New("would block")

// spinWait reports whether a poll loop that found nothing should try again:
// for up to spin after its first call (which sets *until), yielding the
// processor between tries.
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

// schedYield gives this thread's CPU to another runnable process, if any
// (sched_yield(2)). It is a raw system call: the process keeps its P, and
// nothing else of it could run meanwhile on an oversubscribed host anyway.
func schedYield() { unix.RawSyscall(unix.SYS_SCHED_YIELD, 0, 0, 0) }

// writeFull writes bufs (one or two slices) to the socket with send(2)
// or writev(2), polling briefly when the socket buffer is full before
// parking until it has room. Caller holds wmu (the write state below is
// the link's, and its callback is made once: a write allocates nothing).
func (l *tcpLink) writeFull(bufs [][]byte) error {
	if l.wcallback == nil {
		l.wcallback = func(fd uintptr) { l.wdone = l.writeAttempt(fd) }
		l.wcheck = l.writeAttempt
	}
	l.wbufs, l.werr, l.wuntil = bufs, nil, time.Time{}
	err := l.rc.Control(l.wcallback)
	if err == nil && !l.wdone {
		err = l.txWait.wait(unix.EPOLLOUT, l.wcheck)
	}
	l.wbufs = nil
	if err != nil {
		return err
	}
	return l.werr
}

// rawWriteMax is the largest write made without telling the scheduler: a
// default-sized data chunk and its header.
const rawWriteMax = 1<<20 + wire.HeaderSize

// writeAttempt makes writeFull's writes: false when the socket buffer
// stays full, and the goroutine is to park until it has room.
func (l *tcpLink) writeAttempt(fd uintptr) bool {
	for len(l.wbufs) > 0 {
		bufs := l.wbufs
		var total int
		for i, b := range bufs {
			l.iovec[i].Base = unsafe.SliceData(b)
			l.iovec[i].SetLen(len(b))
			total += len(b)
		}
		// Raw system calls up to a default-sized chunk: a regular one that
		// takes a while lets the runtime hand this P to another thread,
		// and a rank bound to one CPU would then have two threads
		// fighting for it. (The socket is non-blocking; the cost is that a
		// stop-the-world may wait for one such copy.)
		var r uintptr
		var e syscall.Errno
		switch {
		case len(bufs) == 1 && total <= rawWriteMax:
			// send(2) rather than write(2): it skips the file layer (np 2,
			// 11 alternating rounds, with recv(2) below: Bcast 8 B back to
			// back 2.70 → 2.59 µs, Allreduce 8 B 3.92 → 3.77).
			r, _, e = unix.RawSyscall6(unix.SYS_SENDTO, fd, uintptr(unsafe.Pointer(l.iovec[0].Base)), uintptr(total), unix.MSG_NOSIGNAL, 0, 0)
		case total <= rawWriteMax:
			r, _, e = unix.RawSyscall(unix.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&l.iovec[0])), uintptr(len(bufs)))
		default:
			r, _, e = unix.Syscall(unix.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&l.iovec[0])), uintptr(len(bufs)))
		}
		if e == unix.EINTR {
			continue
		}
		if e == unix.EAGAIN {
			if spinWait(&l.wuntil, l.e.cfg.Spin, l.e.osYield) {
				continue
			}
			return false
		}
		if e != 0 {
			l.werr = e
			return true
		}
		l.wuntil = time.Time{}
		l.sends.Add(1)
		n := int(r)
		for n > 0 {
			if n >= len(bufs[0]) {
				n -= len(bufs[0])
				bufs = bufs[1:]
			} else {
				bufs[0] = bufs[0][n:]
				n = 0
			}
		}
		for len(bufs) > 0 && len(bufs[0]) == 0 {
			bufs = bufs[1:]
		}
		l.wbufs = bufs
	}
	return true
}

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

	// With peek set (Config.PeekReads; the socket has SO_PEEK_OFF), a
	// read leaves the bytes queued in the kernel, which counts them off
	// with its peek offset, unless the link has sent since the last read
	// that took bytes: that send carried the acknowledgement, so this
	// read takes the bytes, the unconsumed ones with them. consume
	// discards them otherwise, once unconsumed reaches consumeAt or
	// before the goroutine parks. (Taking a small segment out of the
	// queue makes the kernel send a bare acknowledgement inside the read
	// when two small segments arrived since this side last sent; see
	// Config.PeekReads.) Bulk data gains nothing from it, and leaving
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

// tryPoll processes what has arrived on the link if no other goroutine is
// reading it. It is how a waiting goroutine completes its own request
// without a hand-off from the reader.
func (l *tcpLink) tryPoll() {
	if l.ended.Load() || !l.rxMu.TryLock() {
		return
	}
	l.pollLocked()
	l.rxMu.Unlock()
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
		if e.cfg.Spin > 0 && !e.osYield && e.waiting.Load() > 0 && e.now()-active < int64(e.cfg.Spin) {
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
		// drain the link (tryPoll) instead of waiting for this goroutine
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

// setCongestion is the Control function of the listener and of the
// dialer: it gives the socket Config.Congestion before it connects or
// listens (accepted sockets inherit the listener's), so that the host's
// default never starts on it. Set on a connected socket, reno would keep
// the pacing a default BBR had turned on (a timer per segment, at a rate
// from the round trips it measured), which Alltoall at np 8 paid for. A
// refused name keeps the default and logs one line.
func (e *engine) setCongestion(network, address string, c syscall.RawConn) error {
	cc := e.cfg.Congestion
	if cc == "system" {
		return nil
	}
	var serr error
	c.Control(func(fd uintptr) {
		serr = unix.SetsockoptString(int(fd), unix.IPPROTO_TCP, unix.TCP_CONGESTION, cc)
	})
	if serr != nil {
		e.ccOnce.Do(func() {
			e.logf("gorun: rank %d: TCP congestion control %q refused (%v); keeping the host's default (GORUN_TCP_CC=system silences this)", e.rank, cc, serr)
		})
	}
	return nil
}

// defaultCongestion is the congestion control a new TCP socket gets in
// this network namespace ("" if it cannot be read).
var defaultCongestion = sync.OnceValue(func() string {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return ""
	}
	defer unix.Close(fd)
	cc, err := unix.GetsockoptString(fd, unix.IPPROTO_TCP, unix.TCP_CONGESTION)
	if err != nil {
		return ""
	}
	return cc
})

// sameHost reports whether c joins two processes of one host: its peer
// has a loopback address or this end's own (a host connecting to its own
// address gets that address at both ends).
func sameHost(c *net.TCPConn) bool {
	la, ok1 := c.LocalAddr().(*net.TCPAddr)
	ra, ok2 := c.RemoteAddr().(*net.TCPAddr)
	return ok1 && ok2 && (ra.IP.IsLoopback() || ra.IP.Equal(la.IP))
}

func (e *engine) startLink(peer int, c *net.TCPConn) error {
	c.SetNoDelay(true)
	if n := e.cfg.SocketBuffer; n > 0 {
		c.SetWriteBuffer(n)
		c.SetReadBuffer(n)
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	if e.cfg.Congestion != "system" && !sameHost(c) {
		// Made with Config.Congestion (see setCongestion); a link to
		// another host keeps the host's default.
		if def := defaultCongestion(); def != "" {
			rc.Control(func(fd uintptr) {
				if cur, err := unix.GetsockoptString(int(fd), unix.IPPROTO_TCP, unix.TCP_CONGESTION); err == nil && cur != def {
					_ = unix.SetsockoptString(int(fd), unix.IPPROTO_TCP, unix.TCP_CONGESTION, def)
				}
			})
		}
	}
	l := &tcpLink{e: e, peer: peer, sock: c, rc: rc, wbuf: make([]byte, 0, wire.HeaderSize+smallWrite), done: make(chan struct{})}
	if err := l.setWaiters(c); err != nil {
		return err
	}
	l.src.rc = l.rc
	l.src.sends = &l.sends
	l.src.wait = l.rxWait
	l.src.spin = e.cfg.Spin
	l.src.yield = e.osYield
	l.br = bufio.NewReaderSize(&l.src, 64<<10)
	e.mu.Lock()
	if e.links[peer] != nil {
		e.mu.Unlock()
		l.close()
		return fmt.Errorf("already connected to rank %d", peer)
	}
	e.links[peer] = l
	e.mu.Unlock()
	go l.readLoop()
	return nil
}

// setWaiters gives the link its waiters. An oversubscribed rank's links
// park in the runtime's network poller (pollerWaiter); otherwise the
// socket leaves the poller (detach) and parks through parkers, joining an
// epoll set only while parked.
func (l *tcpLink) setWaiters(c *net.TCPConn) error {
	if l.e.osYield {
		w := pollerWaiter{l.rc}
		l.txWait, l.rxWait, l.peekWait = w, w, w
		return nil
	}
	f, err := detach(c)
	if err != nil {
		return err
	}
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return err
	}
	var ps [2]*parker
	for i := range ps {
		if ps[i], err = newParker(rc); err != nil {
			for _, p := range ps[:i] {
				p.close()
			}
			f.Close()
			return err
		}
	}
	l.sock, l.rc = f, rc
	// waitReadable runs only on oversubscribed ranks: no third epoll set
	// (a descriptor more per link) for it.
	l.txWait, l.rxWait, l.peekWait = ps[0], ps[1], ps[1]
	// Reads peek (Config.PeekReads, rawSource.peek) where the kernel
	// keeps a peek offset for TCP sockets (recent kernels do; one that
	// refuses the option keeps plain reads). waitReadable's one-byte peek
	// would move that offset, but it runs only on oversubscribed ranks,
	// which returned above.
	if l.e.cfg.PeekReads == On {
		rc.Control(func(fd uintptr) {
			l.src.peek = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PEEK_OFF, 0) == nil
		})
	}
	return nil
}

// mesher connects this rank to every other: it dials every lower rank and
// accepts every higher one (the deterministic rule: no two links between a
// pair, no race), authenticating each connection with the job secret.
type mesher struct {
	e   *engine
	ln  net.Listener
	key []byte

	mu        sync.Mutex
	accepted  int
	acceptCh  chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
}

func (m *mesher) acceptLoop() {
	defer m.wg.Done()
	for {
		c, err := m.ln.Accept()
		if err != nil {
			return
		}
		m.wg.Add(1)
		go m.handshake(c.(*net.TCPConn))
	}
}

func (m *mesher) handshake(c *net.TCPConn) {
	defer m.wg.Done()
	e := m.e
	c.SetDeadline(time.Now().Add(e.cfg.HandshakeTimeout))
	from, err := wire.ServerHandshake(c, m.key, uint32(e.rank))
	if err == nil && (int(from) <= e.rank || int(from) >= e.size) {
		err = fmt.Errorf("rank %d may not dial rank %d", from, e.rank)
	}
	if err == nil {
		c.SetDeadline(time.Time{})
		err = e.startLink(int(from), c)
	}
	if err != nil {
		e.logf("gorun: rank %d: refused connection from %s: %v", e.rank, c.RemoteAddr(), err)
		c.Close()
		return
	}
	m.mu.Lock()
	m.accepted++
	if m.accepted == e.size-1-e.rank {
		close(m.acceptCh)
	}
	m.mu.Unlock()
}

func (m *mesher) dial(ctx context.Context, peer int, addr string) error {
	d := net.Dialer{Control: m.e.setCongestion}
	var c net.Conn
	var err error
	// The peer's listener exists before it publishes its address, so one
	// dial normally suffices; retry briefly on a transient refusal.
	for try := 0; ; try++ {
		c, err = d.DialContext(ctx, "tcp", addr)
		if err == nil || ctx.Err() != nil || try == 20 {
			break
		}
		select {
		case <-time.After(time.Duration(try+1) * 10 * time.Millisecond):
		case <-ctx.Done():
		}
	}
	if err != nil {
		return fmt.Errorf("connecting to rank %d at %s: %w", peer, addr, err)
	}
	tc := c.(*net.TCPConn)
	tc.SetDeadline(time.Now().Add(m.e.cfg.HandshakeTimeout))
	if err := wire.ClientHandshake(tc, m.key, uint32(m.e.rank), uint32(peer)); err != nil {
		tc.Close()
		return fmt.Errorf("connecting to rank %d at %s: %w", peer, addr, err)
	}
	tc.SetDeadline(time.Time{})
	return m.e.startLink(peer, tc)
}

func (m *mesher) close() {
	m.closeOnce.Do(func() { m.ln.Close() })
	m.wg.Wait()
}
