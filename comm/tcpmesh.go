package comm

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/gorun-hpc/gorun/comm/internal/accept"
	"github.com/gorun-hpc/gorun/comm/internal/wire"
)

func (w *Comm) wire(ctx context.Context, o Options) error {
	e := w.e
	addr := o.Addr
	if addr == "" {
		addr = "127.0.0.1"
	}
	lc := net.ListenConfig{Control: e.setCongestion}
	ln, err := lc.Listen(ctx, "tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	if listenerHook != nil {
		ln = listenerHook(ln)
	}
	m := &mesher{e: e, ln: ln, key: o.Secret, acceptCh: make(chan struct{}), stop: make(chan struct{})}
	w.proc.mesh = m
	if e.rank == e.size-1 {
		close(m.acceptCh)
	}
	m.wg.Add(1)
	go m.acceptLoop()
	if err := o.Store.Set(ctx, "addr/"+strconv.Itoa(e.rank), []byte(ln.Addr().String())); err != nil {
		return fmt.Errorf("publishing address: %w", err)
	}
	errs := make(chan error, e.rank)
	for p := 0; p < e.rank; p++ {
		go func(p int) {
			a, err := o.Store.Get(ctx, "addr/"+strconv.Itoa(p))
			if err == nil {
				err = m.dial(ctx, p, string(a))
			}
			errs <- err
		}(p)
	}
	for p := 0; p < e.rank; p++ {
		if err := <-errs; err != nil {
			return err
		}
	}
	select {
	case <-m.acceptCh:
		return nil
	case <-ctx.Done():
		m.mu.Lock()
		n := m.accepted
		m.mu.Unlock()
		return fmt.Errorf("only %d of the %d higher ranks connected: %w", n, e.size-1-e.rank, ctx.Err())
	}
}

// sameHost reports whether c joins two processes of one host: its peer
// has a loopback address or this end's own (a host connecting to its own
// address gets that address at both ends).
func sameHost(c *net.TCPConn) bool {
	la, ok1 := c.LocalAddr().(*net.TCPAddr)
	ra, ok2 := c.RemoteAddr().(*net.TCPAddr)
	return ok1 && ok2 && (ra.IP.IsLoopback() || ra.IP.Equal(la.IP))
}

// mesher connects this rank to every other: it dials every lower rank and
// accepts every higher one (the deterministic rule: no two links between a
// pair, no race), authenticating each connection with the job secret.
type mesher struct {
	e   *engine
	ln  net.Listener
	key []byte

	stop      chan struct{} // closed by close: ends the accept loop's backoff
	mu        sync.Mutex
	accepted  int
	acceptCh  chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// acceptLoop accepts the higher ranks' connections until close: a
// failed accept (out of descriptors, say) is logged and retried.
func (m *mesher) acceptLoop() {
	defer m.wg.Done()
	accept.Loop(m.ln, m.stop, fmt.Sprintf("rank %d: listener", m.e.rank), m.e.logf, func(c net.Conn) {
		m.wg.Add(1)
		go m.handshake(c.(*net.TCPConn))
	})
}

// listenerHook, if set (by tests), wraps a rank's listener.
var listenerHook func(net.Listener) net.Listener

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
	m.closeOnce.Do(func() {
		close(m.stop)
		m.ln.Close()
	})
	m.wg.Wait()
}
