//go:build !linux || gorun_portable

package comm

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/gorun-hpc/gorun/comm/internal/wire"
)

// The portable TCP link: what every system but Linux runs, and what Linux
// runs when built with the tag gorun_portable (so that its tests keep it
// working). It reads and writes through the *net.TCPConn and Go's network
// poller, with no system call of its own, and speaks the same frames
// (PROTOCOL.md) with the same failure semantics as the Linux link: the
// link's reader processes frames in arrival order, a frame handler only
// queues control frames (sendControl never waits), a failed read or
// control write ends the link and reports the peer's loss, a malformed
// frame is refused and logged.
//
// What it does not do, against the Linux link (tcplink_linux.go): no
// waiter reads the socket itself (poll never makes progress: a read
// through the poller cannot be tried without waiting), so waiters park on
// their request at once (tcpLinksPoll) and the reader goroutine, woken by
// the poller, completes it (or, while a goroutine loops on Test, wakes
// every Config.Spin to read: see awaitFrame); no peeking reads, no raw send(2)/recv(2), and
// the host's TCP congestion control is kept.

// tcpLinksPoll reports whether a waiter's link.poll can make progress on
// a TCP link: not here, so waiters do not spin (see Connect).
const tcpLinksPoll = false

// tcpLink is a link over one authenticated TCP connection, read by its
// reader goroutine alone. Writers share the connection under wmu; control
// frames are queued under cmu and written by a drainer goroutine.
type tcpLink struct {
	e    *engine
	peer int
	c    *net.TCPConn

	wmu  sync.Mutex // guards the connection's write side and the buffers below
	wbuf []byte
	hbuf [wire.HeaderSize]byte
	bufs net.Buffers // a large frame's header and payload, written with writev

	br *bufio.Reader // the reader goroutine's
	hb [wire.HeaderSize]byte
	h  wire.Header // the frame being processed

	// Control frames (see sendControl), under cmu: queued in order and
	// written by one drainer goroutine at a time.
	controlQueue
	ctlBuf  []byte // the drainer's encoding buffer
	writers sync.WaitGroup

	closeOnce sync.Once
	done      chan struct{} // closed when the reader goroutine returns
}

// startTCPLink makes the TCP link to peer over c, registers it and starts
// its reader (see transport.go).
func (e *engine) startTCPLink(peer int, c *net.TCPConn) error {
	c.SetNoDelay(true)
	if n := e.cfg.TCP.SocketBuffer; n > 0 {
		c.SetWriteBuffer(n)
		c.SetReadBuffer(n)
	}
	l := &tcpLink{e: e, peer: peer, c: c, wbuf: make([]byte, 0, wire.HeaderSize+smallWrite), done: make(chan struct{})}
	l.br = bufio.NewReaderSize(c, 64<<10)
	if err := e.addLink(peer, l); err != nil {
		l.close()
		return err
	}
	go l.readLoop()
	return nil
}

// smallWrite is the payload size up to which header and payload are copied
// into one buffer and written with one write; larger payloads go out with
// writev (net.Buffers) and no copy.
const smallWrite = 16 << 10

// send writes one frame whole, waiting for room on the socket. Safe for
// concurrent callers; frames never interleave.
func (l *tcpLink) send(h wire.Header, payload []byte) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if len(payload) <= smallWrite {
		b := l.wbuf[:wire.HeaderSize]
		h.Encode(b)
		b = append(b, payload...)
		l.wbuf = b[:0]
		_, err := l.c.Write(b)
		return err
	}
	h.Encode(l.hbuf[:])
	l.bufs = append(l.bufs[:0], l.hbuf[:], payload)
	_, err := l.bufs.WriteTo(l.c)
	l.bufs = l.bufs[:0]
	return err
}

// sendControl queues a control frame (CTS, Cancel, Credit, Withdraw,
// Withdrawn, Bye) and returns without waiting for the socket: a reader
// that waited for socket space could wait for a peer whose reader waits
// the same way. A drainer goroutine writes the queue in order; a failed
// write ends the link. After a Bye, further control frames are dropped.
// Safe for concurrent use.
func (l *tcpLink) sendControl(h wire.Header) {
	l.cmu.Lock()
	defer l.cmu.Unlock()
	if l.ctlShut {
		return
	}
	if h.Type == wire.Bye {
		l.ctlShut = true
	}
	l.ctl = append(l.ctl, h)
	if !l.ctlBusy {
		l.ctlBusy = true
		l.writers.Add(1)
		go l.drainControl()
	}
}

// drainControl writes the control queue until it is empty, all the frames
// queued at a time in one write.
func (l *tcpLink) drainControl() {
	defer l.writers.Done()
	var err error
	for {
		l.cmu.Lock()
		if err != nil || len(l.ctl) == 0 {
			break
		}
		b := l.encodeQueued()
		l.cmu.Unlock()
		l.wmu.Lock()
		_, err = l.c.Write(b)
		l.wmu.Unlock()
	}
	l.endDrain(err) // cmu is held
	if err != nil {
		l.e.linkDown(l.peer, err)
		l.close()
	}
}

// poll makes no progress: only the reader goroutine reads this link.
func (l *tcpLink) poll() bool { return false }

// close closes the connection (idempotent); the reader and a writer
// blocked in it wake with an error.
func (l *tcpLink) close() error {
	l.closeOnce.Do(func() { l.c.Close() })
	return nil
}

// awaitClosed waits for the reader goroutine and the control-frame
// drainers, after close.
func (l *tcpLink) awaitClosed() {
	<-l.done
	l.writers.Wait()
}

// readLoop is the link's reader goroutine: it reads frames and hands them
// to the engine one at a time, in arrival order, parking in the network
// poller between them, until the connection ends or a frame is refused.
func (l *tcpLink) readLoop() {
	defer close(l.done)
	for {
		if err := l.awaitFrame(); err != nil {
			l.end(err)
			return
		}
		if err := l.frame(); err != nil {
			l.end(err)
			return
		}
	}
}

// testRead bounds how long awaitFrame's reads wait while tests come (an
// oversubscribed rank's Spin is 3 ms).
const testRead = 50 * time.Microsecond

// awaitFrame returns once the next frame has begun to arrive, or at once
// when no test has found nothing for Config.Spin (engine.progress). While
// such tests keep coming, a goroutine loops on Test or Iprobe without
// parking, and with one P the runtime would poll the network only every
// 10 ms or so, leaving this reader parked. So it waits with a read
// deadline of Spin (testRead at most) instead, which the runtime's timers
// (run whenever that goroutine yields) end: each time, it reads again, and
// sees what came.
func (l *tcpLink) awaitFrame() error {
	spin := l.e.cfg.Spin
	if spin <= 0 || l.br.Buffered() > 0 {
		return nil
	}
	armed := false
	defer func() {
		if armed {
			l.c.SetReadDeadline(time.Time{})
		}
	}()
	for l.e.now()-l.e.tested.Load() < int64(spin) {
		if err := l.c.SetReadDeadline(time.Now().Add(min(spin, testRead))); err != nil {
			return err
		}
		armed = true
		_, err := l.br.Peek(1)
		if err == nil {
			return nil
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			return err
		}
	}
	return nil
}

// frame reads and processes one frame.
func (l *tcpLink) frame() error {
	if _, err := io.ReadFull(l.br, l.hb[:]); err != nil {
		return err
	}
	var err error
	if l.h, err = wire.Decode(l.hb[:], frameLimits); err != nil {
		return err
	}
	return l.e.handleFrame(l.peer, &l.h, l.br)
}

// end ends reading on the link: after a Bye that is normal; any other
// error means the peer is lost (or misbehaved, which is logged).
func (l *tcpLink) end(err error) {
	if errors.Is(err, errBye) {
		return
	}
	if errors.Is(err, wire.ErrMalformed) || errors.Is(err, ErrProtocol) {
		l.e.logf("gorun: rank %d: closing link to rank %d: %v", l.e.rank, l.peer, err)
	}
	l.e.linkDown(l.peer, err)
	l.close()
}
