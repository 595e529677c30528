package rendezvous

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/gorun-hpc/gorun/comm/internal/accept"
	"github.com/gorun-hpc/gorun/comm/internal/wire"
)

// HandshakeTimeout bounds how long a connecting client may take to
// authenticate before the server drops it.
const HandshakeTimeout = 10 * time.Second

// Server serves a Mem store over TCP to clients that know the job secret.
// Its methods are safe for concurrent use. Close stops it and waits for its
// goroutines.
type Server struct {
	mem  *Mem
	ln   net.Listener
	key  []byte
	logf func(format string, args ...any)

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	stop   chan struct{} // closed by Close
	wg     sync.WaitGroup
}

// Serve starts a server on ln with secret key. Refused connections, and
// failed accepts (logged once per run of failures and retried with a
// backoff until Close), are reported through logf (nil: silent).
func Serve(ln net.Listener, key []byte, logf func(string, ...any)) *Server {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	s := &Server{mem: NewMem(), ln: ln, key: key, logf: logf, conns: map[net.Conn]struct{}{}, stop: make(chan struct{})}
	s.wg.Add(1)
	go s.acceptLoop()
	return s
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Store returns the server's own state, for use in the serving process.
func (s *Server) Store() *Mem { return s.mem }

// acceptLoop accepts clients until Close: a failed accept (out of
// descriptors during a burst of connections, say) is logged and retried.
func (s *Server) acceptLoop() {
	defer s.wg.Done()
	accept.Loop(s.ln, s.stop, "rendezvous server "+s.ln.Addr().String(), s.logf, func(c net.Conn) {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serve(c)
	})
}

func (s *Server) serve(c net.Conn) {
	defer func() {
		c.Close()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		s.wg.Done()
	}()
	c.SetDeadline(time.Now().Add(HandshakeTimeout))
	from, err := wire.ServerHandshake(c, s.key, wire.IDStore)
	if err != nil {
		s.logf("gorun: rendezvous: refused connection from %s: %v", c.RemoteAddr(), err)
		return
	}
	c.SetDeadline(time.Time{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var hdr [7]byte
	for {
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			return
		}
		op := hdr[0]
		kl := int(binary.LittleEndian.Uint16(hdr[1:]))
		vl := int(binary.LittleEndian.Uint32(hdr[3:]))
		if kl > MaxKey || vl > MaxValue || op < opSet || op > opAdd {
			s.logf("gorun: rendezvous: malformed request from %s (id %d): op %d key %d bytes value %d bytes; closing", c.RemoteAddr(), from, op, kl, vl)
			return
		}
		buf := make([]byte, kl+vl)
		if _, err := io.ReadFull(c, buf); err != nil {
			return
		}
		key, val := string(buf[:kl]), buf[kl:]
		var out []byte
		switch op {
		case opSet:
			err = s.mem.Set(ctx, key, val)
		case opGet:
			// Watch the connection while waiting so that a client that
			// goes away does not leave this goroutine behind.
			gctx, gcancel := context.WithCancel(ctx)
			done, exited := make(chan struct{}), make(chan struct{})
			go func() {
				defer close(exited)
				var one [1]byte
				select {
				case <-done:
				default:
					c.Read(one[:]) // a client never sends during a Get; any result means it left or broke protocol
					gcancel()
				}
			}()
			out, err = s.mem.Get(gctx, key)
			close(done)
			c.SetReadDeadline(time.Unix(1, 0)) // unblock the watcher's Read
			<-exited
			gcancel()
			if err != nil && errors.Is(err, context.Canceled) {
				return
			}
			c.SetReadDeadline(time.Time{})
		case opAdd:
			var d, n int64
			d, err = strconv.ParseInt(string(val), 10, 64)
			if err == nil {
				n, err = s.mem.Add(ctx, key, d)
				out = []byte(strconv.FormatInt(n, 10))
			}
		}
		resp := make([]byte, 5, 5+len(out))
		if err != nil {
			out = []byte(err.Error())
			resp[0] = 1
		}
		binary.LittleEndian.PutUint32(resp[1:], uint32(len(out)))
		resp = append(resp, out...)
		if _, err := c.Write(resp); err != nil {
			return
		}
	}
}

// Close stops accepting, closes every connection and waits for the server's
// goroutines. It is idempotent.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.stop)
	s.ln.Close()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.mem.Close()
	s.wg.Wait()
	return nil
}

// Client is a Store reached over TCP. One request is on the wire at a time:
// concurrent callers wait their turn, so a Get that waits long blocks the
// client's other callers (open a second Client for a watcher). A Get whose
// context ends closes the client.
type Client struct {
	mu     sync.Mutex
	c      net.Conn
	closed bool
}

// Dial connects to the store at addr, authenticating as id with key.
func Dial(ctx context.Context, addr string, key []byte, id uint32) (*Client, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("rendezvous: dial %s: %w", addr, err)
	}
	dl := time.Now().Add(HandshakeTimeout)
	if t, ok := ctx.Deadline(); ok && t.Before(dl) {
		dl = t
	}
	c.SetDeadline(dl)
	if err := wire.ClientHandshake(c, key, id, wire.IDStore); err != nil {
		c.Close()
		return nil, fmt.Errorf("rendezvous: %s: %w", addr, err)
	}
	c.SetDeadline(time.Time{})
	return &Client{c: c}, nil
}

func (cl *Client) do(ctx context.Context, op byte, key string, val []byte) ([]byte, error) {
	if len(key) > MaxKey || len(val) > MaxValue {
		return nil, fmt.Errorf("rendezvous: key or value too large (%d, %d bytes)", len(key), len(val))
	}
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.closed {
		return nil, ErrClosed
	}
	stop := context.AfterFunc(ctx, func() { cl.c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	fail := func(err error) ([]byte, error) {
		cl.closed = true
		cl.c.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("rendezvous: connection lost: %w", err)
	}
	if _, err := cl.c.Write(encodeRequest(op, key, val)); err != nil {
		return fail(err)
	}
	var hdr [5]byte
	if _, err := io.ReadFull(cl.c, hdr[:]); err != nil {
		return fail(err)
	}
	n := binary.LittleEndian.Uint32(hdr[1:])
	if n > MaxValue+1024 {
		return fail(fmt.Errorf("oversized response (%d bytes)", n))
	}
	out := make([]byte, n)
	if _, err := io.ReadFull(cl.c, out); err != nil {
		return fail(err)
	}
	if hdr[0] != 0 {
		return nil, fmt.Errorf("rendezvous: server: %s", out)
	}
	return out, nil
}

func (cl *Client) Set(ctx context.Context, key string, value []byte) error {
	_, err := cl.do(ctx, opSet, key, value)
	return err
}

func (cl *Client) Get(ctx context.Context, key string) ([]byte, error) {
	return cl.do(ctx, opGet, key, nil)
}

func (cl *Client) Add(ctx context.Context, key string, delta int64) (int64, error) {
	out, err := cl.do(ctx, opAdd, key, []byte(strconv.FormatInt(delta, 10)))
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(string(out), 10, 64)
}

// Close closes the connection; a Get in progress returns an error.
func (cl *Client) Close() error {
	// Closing the socket first unblocks a caller holding mu.
	cl.c.Close()
	cl.mu.Lock()
	cl.closed = true
	cl.mu.Unlock()
	return nil
}
