package shm

import (
	"errors"
	"testing"
	"time"
)

// TestTrySend: TrySend writes while the ring has room, reports false
// without writing anything once it is full (the consumer then receives
// exactly the messages TrySend reported written, in order), refuses a
// payload over one chunk, and fails once the peer has closed.
func TestTrySend(t *testing.T) {
	o := Options{RingSize: 16 << 10, Chunk: 1 << 10}
	a, b := pair(t, o, o)
	sent := 0
	for {
		h := hdrOf(uint64(sent))
		ok, err := a.TrySend(&h, []byte{byte(sent)})
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		sent++
		if sent > 1000 {
			t.Fatal("TrySend never found the ring full")
		}
	}
	if sent == 0 {
		t.Fatal("TrySend wrote nothing into an empty ring")
	}
	for i := range sent {
		m, err := b.Poll()
		if err != nil || m == nil {
			t.Fatalf("message %d: %v, %v", i, m, err)
		}
		var p [1]byte
		if n, err := m.Read(p[:]); n != 1 || p[0] != byte(i) || m.Header() != hdrOf(uint64(i)) {
			t.Fatalf("message %d: %d bytes %v, %v", i, n, p, err)
		}
	}
	if m, err := b.Poll(); m != nil || err != nil {
		t.Fatalf("a message more than TrySend wrote: %v, %v", m, err)
	}
	h := hdrOf(0)
	if _, err := a.TrySend(&h, make([]byte, 2<<10)); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("TrySend over a chunk: %v, want ErrInvalidArgument", err)
	}
	b.Close()
	if ok, err := a.TrySend(&h, nil); ok || !errors.Is(err, ErrPeerClosed) {
		t.Errorf("TrySend to a closed peer: %v, %v", ok, err)
	}
}

// TestWaitReady: WaitReady sleeps until the peer writes, takes nothing
// (Poll then returns the message), returns at once when a message is
// waiting, and wakes with ErrPeerClosed when the peer closes and with the
// context's error when it ends.
func TestWaitReady(t *testing.T) {
	o := Options{RingSize: 16 << 10, Chunk: 1 << 10}
	a, b := pair(t, o, o)
	ctx := testCtx(t, 20*time.Second)
	done := make(chan error, 1)
	go func() { done <- b.WaitReady(ctx) }()
	h := hdrOf(7)
	if err := a.Send(ctx, &h, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("WaitReady: %v", err)
	}
	if err := b.WaitReady(ctx); err != nil { // the message is still there
		t.Fatalf("WaitReady with a message waiting: %v", err)
	}
	m, err := b.Poll()
	if err != nil || m == nil || m.Header() != h {
		t.Fatalf("Poll after WaitReady: %v, %v", m, err)
	}
	if err := m.Discard(); err != nil {
		t.Fatal(err)
	}
	short := testCtx(t, 30*time.Millisecond)
	if err := b.WaitReady(short); !isDeadline(err) {
		t.Fatalf("WaitReady with nothing coming: %v, want the deadline", err)
	}
	go func() { done <- b.WaitReady(ctx) }()
	a.Close()
	if err := <-done; !errors.Is(err, ErrPeerClosed) {
		t.Fatalf("WaitReady after the peer closed: %v, want ErrPeerClosed", err)
	}
}
