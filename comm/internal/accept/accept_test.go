package accept

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// failing wraps a real listener: its first n Accepts fail with err, as
// the kernel's would (a *net.OpError around the errno).
type failing struct {
	net.Listener
	n   atomic.Int32
	err error
}

func (f *failing) Accept() (net.Conn, error) {
	if f.n.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: f.Addr(), Err: f.err}
	}
	return f.Listener.Accept()
}

func TestLoopRetriesTemporaryErrors(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ECONNABORTED} {
		t.Run(errno.Error(), func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			f := &failing{Listener: ln, err: errno}
			f.n.Store(4)
			var mu sync.Mutex
			var logs []string
			logf := func(format string, a ...any) {
				mu.Lock()
				logs = append(logs, fmt.Sprintf(format, a...))
				mu.Unlock()
			}
			accepted := make(chan net.Conn, 1)
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() {
				Loop(f, stop, "test listener", logf, func(c net.Conn) { accepted <- c })
				close(done)
			}()
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			select {
			case ac := <-accepted:
				ac.Close()
			case <-time.After(10 * time.Second):
				t.Fatal("no connection accepted after the failures")
			}
			mu.Lock()
			if len(logs) != 1 {
				t.Errorf("logged %d lines, want 1: %q", len(logs), logs)
			}
			mu.Unlock()
			ln.Close()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Loop did not return after the listener closed")
			}
		})
	}
}

// TestLoopStopEndsBackoff: closing stop ends a loop that is backing off.
func TestLoopStopEndsBackoff(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	f := &failing{Listener: ln, err: syscall.EMFILE}
	f.n.Store(1 << 30)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { Loop(f, stop, "test", nil, func(c net.Conn) { c.Close() }); close(done) }()
	close(stop)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Loop did not return after stop was closed")
	}
}
