package rendezvous

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/comm/internal/wire"
)

func serve(t *testing.T) (*Server, []byte, *logBuf) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	key := []byte("rendezvous test key 0123456789ab")
	lb := &logBuf{}
	s := Serve(ln, key, lb.logf)
	t.Cleanup(func() { s.Close() })
	return s, key, lb
}

type logBuf struct {
	mu    sync.Mutex
	lines []string
	added chan struct{}
}

func (l *logBuf) logf(format string, args ...any) {
	l.mu.Lock()
	l.lines = append(l.lines, format)
	ch := l.added
	l.added = nil
	l.mu.Unlock()
	if ch != nil {
		close(ch)
	}
}

func TestClientServer(t *testing.T) {
	s, key, _ := serve(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, err := Dial(ctx, s.Addr(), key, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Dial(ctx, s.Addr(), key, 1)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte)
	go func() {
		v, err := b.Get(ctx, "k")
		if err != nil {
			t.Error(err)
		}
		got <- v
	}()
	if err := a.Set(ctx, "k", []byte("v1")); err != nil {
		t.Fatal(err)
	}
	if v := <-got; string(v) != "v1" {
		t.Fatalf("got %q", v)
	}
	for i := int64(1); i <= 3; i++ {
		n, err := a.Add(ctx, "n", 1)
		if err != nil || n != i {
			t.Fatalf("add: %d %v", n, err)
		}
	}
	// A Get bounded by a short deadline gives up.
	sctx, scancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer scancel()
	if _, err := a.Get(sctx, "never"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want deadline, got %v", err)
	}
	if got, ok := s.Store().Lookup("k"); !ok || string(got) != "v1" {
		t.Fatalf("lookup %q %v", got, ok)
	}
	a.Close()
	b.Close()
}

func TestWrongSecretRefused(t *testing.T) {
	s, _, lb := serve(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	added := make(chan struct{})
	lb.mu.Lock()
	lb.added = added
	lb.mu.Unlock()
	if _, err := Dial(ctx, s.Addr(), []byte("not the key not the key not the"), 0); !errors.Is(err, wire.ErrAuth) {
		t.Fatalf("want ErrAuth, got %v", err)
	}
	<-added
	lb.mu.Lock()
	defer lb.mu.Unlock()
	if !strings.Contains(lb.lines[0], "refused connection") {
		t.Fatalf("log: %q", lb.lines)
	}
}

func TestMalformedRequestClosed(t *testing.T) {
	s, key, lb := serve(t)
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if err := wire.ClientHandshake(c, key, 0, wire.IDStore); err != nil {
		t.Fatal(err)
	}
	added := make(chan struct{})
	lb.mu.Lock()
	lb.added = added
	lb.mu.Unlock()
	// Key length far above MaxKey.
	c.Write([]byte{opSet, 0xff, 0xff, 0, 0, 0, 0})
	<-added
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("connection not closed after a malformed request")
	}
}

func TestPrefixAndMem(t *testing.T) {
	m := NewMem()
	p := Prefix(m, "job/")
	ctx := context.Background()
	p.Set(ctx, "a", []byte("1"))
	if v, ok := m.Lookup("job/a"); !ok || string(v) != "1" {
		t.Fatal("prefix not applied")
	}
	m.Close()
	if _, err := p.Get(ctx, "b"); !errors.Is(err, ErrClosed) {
		t.Fatalf("get after close: %v", err)
	}
}
