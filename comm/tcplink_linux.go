//go:build linux && !gorun_portable

package comm

import (
	"bufio"
	"io"
	"net"
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
	controlQueue
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
		b := l.encodeQueued()
		l.cmu.Unlock()
		l.wmu.Lock()
		l.iov[0], l.iov[1] = b, nil
		err = l.writeFull(l.iov[:1])
		l.wmu.Unlock()
	}
	if err != nil {
		l.cmu.Lock()
	}
	l.endDrain(err) // cmu is held
	if err != nil {
		l.e.linkDown(l.peer, err)
		l.close()
	}
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

// awaitClosed waits for the reader goroutine and the control-frame
// drainers, after close.
func (l *tcpLink) awaitClosed() {
	<-l.done
	l.writers.Wait()
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

// tcpLinksPoll reports whether a waiter's link.poll can make progress on
// a TCP link: here it can (it reads the socket itself; see Connect).
const tcpLinksPoll = true

// startTCPLink makes the TCP link to peer over c, registers it and starts
// its reader (see transport.go).
func (e *engine) startTCPLink(peer int, c *net.TCPConn) error {
	c.SetNoDelay(true)
	if n := e.cfg.TCP.SocketBuffer; n > 0 {
		c.SetWriteBuffer(n)
		c.SetReadBuffer(n)
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	if e.cfg.TCP.Congestion != "system" && !sameHost(c) {
		// Made with Config.TCP.Congestion (see setCongestion); a link to
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
	if err := e.addLink(peer, l); err != nil {
		l.close()
		return err
	}
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
	// Reads peek (Config.TCP.PeekReads, rawSource.peek) where the kernel
	// keeps a peek offset for TCP sockets (recent kernels do; one that
	// refuses the option keeps plain reads). waitReadable's one-byte peek
	// would move that offset, but it runs only on oversubscribed ranks,
	// which returned above.
	if l.e.cfg.TCP.PeekReads == On {
		rc.Control(func(fd uintptr) {
			l.src.peek = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PEEK_OFF, 0) == nil
		})
	}
	return nil
}
