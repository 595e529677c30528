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
	"github.com/gorun-hpc/gorun/comm/rendezvous"
)

// tcpTransport is the TCP transport, and the mesh every transport sets
// its pairs up over: it listens, publishes the rank's address
// (addr/<rank>), dials every lower rank and accepts every higher one (the
// deterministic rule: no two connections between a pair, no race),
// proves the job secret on each connection (the HMAC handshake), and then
// hands the connection to the pair's transport (engine.startPair). Its
// own links are tcpLinks (startTCPLink).
type tcpTransport struct {
	e     *engine
	store rendezvous.Store
	m     *mesher
}

// newTCPTransport listens on o.Addr (default 127.0.0.1) and starts
// accepting; the address is published by publish.
func newTCPTransport(ctx context.Context, e *engine, o Options) (*tcpTransport, error) {
	addr := o.Addr
	if addr == "" {
		addr = "127.0.0.1"
	}
	lc := net.ListenConfig{Control: e.setCongestion}
	ln, err := lc.Listen(ctx, "tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	if listenerHook != nil {
		ln = listenerHook(ln)
	}
	m := &mesher{e: e, ln: ln, key: o.Secret, acceptCh: make(chan struct{}), stop: make(chan struct{}), pairErr: make(chan error, 1)}
	if e.rank == e.size-1 {
		close(m.acceptCh)
	}
	m.wg.Add(1)
	go m.acceptLoop()
	return &tcpTransport{e: e, store: o.Store, m: m}, nil
}

func (t *tcpTransport) name() string { return TransportTCP }

// publish stores the rank's listening address. Peers dial it as soon as
// they see it: every other transport publishes first.
func (t *tcpTransport) publish(ctx context.Context) error {
	if err := t.store.Set(ctx, "addr/"+strconv.Itoa(t.e.rank), []byte(t.m.ln.Addr().String())); err != nil {
		return fmt.Errorf("publishing address: %w", err)
	}
	return nil
}

// serves: TCP serves every pair that no other transport took.
func (t *tcpTransport) serves(context.Context, int) (bool, error) { return true, nil }

func (t *tcpTransport) setup(_ context.Context, peer int, c *net.TCPConn, _ bool) error {
	c.SetDeadline(time.Time{})
	return t.e.startTCPLink(peer, c)
}

// connect dials every lower rank and waits until every higher rank has
// connected, each connection set up by its pair's transport.
func (t *tcpTransport) connect(ctx context.Context) error {
	e, m := t.e, t.m
	errs := make(chan error, e.rank)
	for p := 0; p < e.rank; p++ {
		go func(p int) {
			a, err := t.store.Get(ctx, "addr/"+strconv.Itoa(p))
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
	case err := <-m.pairErr:
		return err
	case <-ctx.Done():
		m.mu.Lock()
		n := m.accepted
		m.mu.Unlock()
		return fmt.Errorf("only %d of the %d higher ranks connected: %w", n, e.size-1-e.rank, ctx.Err())
	}
}

// close stops accepting and waits for the accept loop and the handshakes
// in progress.
func (t *tcpTransport) close() { t.m.close() }

// sameHost reports whether c joins two processes of one host: its peer
// has a loopback address or this end's own (a host connecting to its own
// address gets that address at both ends).
func sameHost(c *net.TCPConn) bool {
	la, ok1 := c.LocalAddr().(*net.TCPAddr)
	ra, ok2 := c.RemoteAddr().(*net.TCPAddr)
	return ok1 && ok2 && (ra.IP.IsLoopback() || ra.IP.Equal(la.IP))
}

// mesher is the TCP transport's connection machinery: the accept loop,
// the handshakes, the dials (see tcpTransport).
type mesher struct {
	e   *engine
	ln  net.Listener
	key []byte

	stop      chan struct{} // closed by close: ends the accept loop's backoff
	pairErr   chan error    // the first pair an accepted rank could not set up
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
		ctx, cancel := context.WithTimeout(context.Background(), e.cfg.HandshakeTimeout)
		err = e.startPair(ctx, int(from), c, true)
		cancel()
		if err != nil {
			// A rank of the job that this one cannot link (a forced
			// transport that cannot serve the pair): start-up fails now,
			// not at its deadline.
			err = fmt.Errorf("rank %d: %w", from, err)
			select {
			case m.pairErr <- err:
			default:
			}
		}
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
	if err := m.e.startPair(ctx, peer, tc, false); err != nil {
		tc.Close()
		return fmt.Errorf("connecting to rank %d at %s: %w", peer, addr, err)
	}
	return nil
}

func (m *mesher) close() {
	m.closeOnce.Do(func() {
		close(m.stop)
		m.ln.Close()
	})
	m.wg.Wait()
}
