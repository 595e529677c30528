package comm

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/comm/internal/wire"
)

// linkPair returns an engine (rank 0 of 2) whose link to rank 1 is a real
// TCP connection, and the raw far end of that connection, on which a test
// plays a misbehaving rank 1. Log lines are collected in logs.
func linkPair(t *testing.T) (*engine, *Comm, net.Conn, func() []string) {
	t.Helper()
	near, far := tcpPair(t)
	var mu sync.Mutex
	var logs []string
	cfg := Config{Logf: func(f string, a ...any) {
		mu.Lock()
		logs = append(logs, fmt.Sprintf(f, a...))
		mu.Unlock()
	}}
	cfg.fill(2)
	e := newEngine(0, 2, cfg)
	c := newComm(e, 0, []int{0, 1}, 0)
	e.worldComm = c
	if err := e.startTCPLink(1, near.(*net.TCPConn)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { far.Close(); e.closeLinks() })
	return e, c, far, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), logs...) }
}

func frame(h wire.Header, payload []byte) []byte {
	b := make([]byte, wire.HeaderSize)
	h.Encode(b)
	return append(b, payload...)
}

func TestMalformedFramesRefused(t *testing.T) {
	bad := map[string][]byte{
		"oversized eager":    frame(wire.Header{Type: wire.Eager, Len: frameLimits.MaxEager + 1}, nil),
		"unknown type":       frame(wire.Header{Type: 77}, nil),
		"bad version":        append([]byte{9}, make([]byte, wire.HeaderSize-1)...),
		"data for nothing":   frame(wire.Header{Type: wire.Data, B: 12345, Len: 4}, []byte("evil")),
		"cancel for nothing": frame(wire.Header{Type: wire.Cancel, B: 999}, nil),
		"credit for nothing": frame(wire.Header{Type: wire.Credit, A: 1 << 20}, nil),
		"garbage":            []byte(strings.Repeat("GET / HTTP/1.1\r\n", 8)),
	}
	for name, b := range bad {
		t.Run(name, func(t *testing.T) {
			_, c, far, logs := linkPair(t)
			buf := []byte("untouched")
			r := c.IrecvBytes(buf, 1, AnyTag)
			far.Write(b)
			done := make(chan struct{})
			go func() { r.Wait(t.Context()); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("the receive hung after a malformed frame")
			}
			if _, err := r.Wait(t.Context()); !errors.Is(err, ErrPeerLost) {
				t.Fatalf("receive: want ErrPeerLost, got %v", err)
			}
			if string(buf) != "untouched" {
				t.Fatalf("data was delivered: %q", buf)
			}
			if l := logs(); len(l) != 1 || !strings.Contains(l[0], "closing link to rank 1") {
				t.Fatalf("want one log line about closing the link, got %q", l)
			}
		})
	}
}

// A frame cut short by the peer's death delivers nothing.
func TestTruncatedFrameDeliversNothing(t *testing.T) {
	_, c, far, _ := linkPair(t)
	buf := make([]byte, 8)
	r := c.IrecvBytes(buf, 1, 0)
	far.Write(frame(wire.Header{Type: wire.Eager, Len: 8}, []byte("half")))
	far.Close()
	if _, err := r.Wait(t.Context()); !errors.Is(err, ErrPeerLost) {
		t.Fatalf("want ErrPeerLost, got %v", err)
	}
}

// A well-formed message after the handshake is delivered (the harness works).
func TestLinkPairDelivers(t *testing.T) {
	_, c, far, logs := linkPair(t)
	buf := make([]byte, 5)
	r := c.IrecvBytes(buf, 1, 3)
	far.Write(frame(wire.Header{Type: wire.Eager, Tag: 3, Len: 5}, []byte("hello")))
	st, err := r.Wait(t.Context())
	if err != nil || string(buf) != "hello" || st.Source != 1 || st.Tag != 3 {
		t.Fatalf("%v %q %+v", err, buf, st)
	}
	if l := logs(); len(l) != 0 {
		t.Fatalf("unexpected log: %q", l)
	}
}
