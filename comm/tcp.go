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
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gorun-hpc/gorun/comm/internal/wire"
)

// tcpLink is a link over one authenticated TCP connection. Writers share
// the connection under wmu; one reader goroutine (readLoop) owns reading.
type tcpLink struct {
	e    *engine
	peer int
	conn *net.TCPConn

	wmu  sync.Mutex
	wbuf []byte

	closeOnce sync.Once
	done      chan struct{} // closed when readLoop returns
}

// smallWrite is the payload size up to which header and payload are copied
// into one buffer and written with one write(2); larger payloads go out
// with writev and no copy.
const smallWrite = 16 << 10

func (l *tcpLink) send(h *wire.Header, payload []byte) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if len(payload) <= smallWrite {
		b := l.wbuf[:wire.HeaderSize]
		h.Encode(b)
		b = append(b, payload...)
		l.wbuf = b[:0]
		_, err := l.conn.Write(b)
		return err
	}
	var hb [wire.HeaderSize]byte
	h.Encode(hb[:])
	bufs := net.Buffers{hb[:], payload}
	_, err := bufs.WriteTo(l.conn)
	return err
}

func (l *tcpLink) close() error {
	l.closeOnce.Do(func() { l.conn.Close() })
	return nil
}

func (l *tcpLink) readLoop(r io.Reader) {
	defer close(l.done)
	br := bufio.NewReaderSize(r, 64<<10)
	var hb [wire.HeaderSize]byte
	for {
		if _, err := io.ReadFull(br, hb[:]); err != nil {
			l.e.linkDown(l.peer, err)
			l.close()
			return
		}
		h, err := wire.Decode(hb[:], frameLimits)
		if err == nil {
			err = l.e.handleFrame(l.peer, &h, br)
		}
		if err != nil {
			if errors.Is(err, errBye) {
				return
			}
			if errors.Is(err, wire.ErrMalformed) || errors.Is(err, ErrProtocol) {
				l.e.logf("gorun: rank %d: closing link to rank %d: %v", l.e.rank, l.peer, err)
			}
			l.e.linkDown(l.peer, err)
			l.close()
			return
		}
	}
}

// pollReader reads from a non-blocking socket, polling it for a short
// while before parking in the network poller when the engine has a waiter.
// Polling saves the poller's wake-up (tens of microseconds) on the latency
// path; it never runs when ranks outnumber cores, and only one reader of a
// process polls at a time.
type pollReader struct {
	e  *engine
	rc syscall.RawConn
}

func (p *pollReader) Read(b []byte) (int, error) {
	var n int
	var err error
	spin := p.e.cfg.Spin
	polling := false
	first := true
	rerr := p.rc.Read(func(fd uintptr) bool {
		mayPoll := first && spin > 0 && p.e.waiting.Load() > 0
		first = false
		if mayPoll && !polling {
			polling = p.e.spinner.CompareAndSwap(0, 1)
		}
		var start time.Time
		for i := 0; ; i++ {
			n, err = unix.Read(int(fd), b)
			if err == unix.EINTR {
				continue
			}
			if err != unix.EAGAIN {
				return true
			}
			if !polling {
				return false
			}
			if i == 0 {
				start = time.Now()
			} else if i&7 == 0 && (time.Since(start) > spin || p.e.waiting.Load() == 0) {
				p.e.spinner.Store(0)
				polling = false
				return false
			}
			runtime.Gosched()
		}
	})
	if polling {
		p.e.spinner.Store(0)
	}
	if rerr != nil {
		return 0, rerr
	}
	if err != nil {
		return 0, err
	}
	if n == 0 && len(b) > 0 {
		return 0, io.EOF
	}
	return n, nil
}

func (e *engine) startLink(peer int, c *net.TCPConn) error {
	c.SetNoDelay(true)
	l := &tcpLink{e: e, peer: peer, conn: c, wbuf: make([]byte, 0, wire.HeaderSize+smallWrite), done: make(chan struct{})}
	var r io.Reader = c
	if e.cfg.Spin > 0 {
		rc, err := c.SyscallConn()
		if err != nil {
			return err
		}
		r = &pollReader{e: e, rc: rc}
	}
	e.mu.Lock()
	if e.links[peer] != nil {
		e.mu.Unlock()
		return fmt.Errorf("already connected to rank %d", peer)
	}
	e.links[peer] = l
	e.mu.Unlock()
	go l.readLoop(r)
	return nil
}

// mesh connects this rank to every other: it dials every lower rank and
// accepts every higher one (the deterministic rule: no two links between a
// pair, no race). addrs[i] is rank i's listening address.
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
	var d net.Dialer
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
