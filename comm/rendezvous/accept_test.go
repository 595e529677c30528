package rendezvous

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// emfileListener wraps a real listener: its first n Accepts fail with
// EMFILE, as under a low open-file limit during a burst of connections.
type emfileListener struct {
	net.Listener
	n atomic.Int32
}

func (l *emfileListener) Accept() (net.Conn, error) {
	if l.n.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.Addr(), Err: syscall.EMFILE}
	}
	return l.Listener.Accept()
}

// TestServerSurvivesAcceptErrors: the server logs a failed accept once and
// keeps serving.
func TestServerSurvivesAcceptErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	el := &emfileListener{Listener: ln}
	el.n.Store(5)
	key := []byte("rendezvous test key 0123456789ab")
	lb := &logBuf{}
	s := Serve(el, key, lb.logf)
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := Dial(ctx, s.Addr(), key, 1)
	if err != nil {
		t.Fatalf("dial after accept errors: %v", err)
	}
	defer cl.Close()
	if err := cl.Set(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	lb.mu.Lock()
	defer lb.mu.Unlock()
	n := 0
	for _, l := range lb.lines {
		if strings.Contains(l, "accept failed") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d accept log lines, want 1: %q", n, lb.lines)
	}
}
