package wire

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

var lim = Limits{MaxEager: 1 << 16, MaxChunk: 1 << 20}

func TestHeaderRoundTrip(t *testing.T) {
	for _, h := range []Header{
		{Type: Eager, Tag: 7, Ctx: 42, Len: 100},
		{Type: Eager, Tag: -1 << 31, Ctx: ^uint64(0), Len: 0},
		{Type: RTS, Tag: 1, Ctx: 3, Len: 1 << 40, A: 9},
		{Type: CTS, A: 1, B: 2},
		{Type: Data, Len: 4096, B: 77},
		{Type: Cancel, B: 5},
		{Type: Bye},
		{Type: Credit, A: 65536},
		{Type: Withdraw, A: 3},
		{Type: Withdrawn, A: 1 << 40},
	} {
		var b [HeaderSize]byte
		h.Encode(b[:])
		got, err := Decode(b[:], lim)
		if err != nil {
			t.Fatalf("%v: %v", h.Type, err)
		}
		if got != h {
			t.Fatalf("round trip: got %+v want %+v", got, h)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	enc := func(h Header) []byte {
		b := make([]byte, HeaderSize)
		h.Encode(b)
		return b
	}
	badVersion := enc(Header{Type: Bye})
	badVersion[0] = 9
	flags := enc(Header{Type: Bye})
	flags[2] = 1
	for name, b := range map[string][]byte{
		"short":          make([]byte, 10),
		"version":        badVersion,
		"flags":          flags,
		"unknown type":   enc(Header{Type: 99}),
		"zero type":      make([]byte, HeaderSize),
		"eager too big":  enc(Header{Type: Eager, Len: lim.MaxEager + 1}),
		"eager with ids": enc(Header{Type: Eager, A: 1}),
		"data too big":   enc(Header{Type: Data, Len: lim.MaxChunk + 1, B: 1}),
		"empty data":     enc(Header{Type: Data, B: 1}),
		"cts with len":   enc(Header{Type: CTS, Len: 5}),
		"rts huge":       enc(Header{Type: RTS, Len: 1 << 63, A: 1}),
		"bye with field": enc(Header{Type: Bye, Tag: 3}),
		"empty credit":   enc(Header{Type: Credit}),
		"credit with B":  enc(Header{Type: Credit, A: 1, B: 1}),
		"credit huge":    enc(Header{Type: Credit, A: 1 << 63}),
		"empty withdraw": enc(Header{Type: Withdraw}),
		"withdraw B":     enc(Header{Type: Withdraw, A: 1, B: 1}),
		"withdrawn tag":  enc(Header{Type: Withdrawn, A: 1, Tag: 2}),
		"withdrawn len":  enc(Header{Type: Withdrawn, A: 1, Len: 2}),
	} {
		if _, err := Decode(b, lim); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: want ErrMalformed, got %v", name, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, h := range []Header{{Type: Eager, Len: 3}, {Type: RTS, Len: 1 << 20, A: 1}, {Type: CTS, A: 1, B: 1}, {Type: Data, Len: 1, B: 1}, {Type: Bye}, {Type: Credit, A: 64}, {Type: Withdraw, A: 2}, {Type: Withdrawn, A: 2}} {
		b := make([]byte, HeaderSize)
		h.Encode(b)
		f.Add(b)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := Decode(b, lim)
		if err != nil {
			return
		}
		// Whatever decodes re-encodes to the same bytes.
		out := make([]byte, HeaderSize)
		h.Encode(out)
		if !bytes.Equal(out, b[:HeaderSize]) {
			t.Fatalf("re-encoding differs:\n in %x\nout %x", b[:HeaderSize], out)
		}
	})
}

func handshakePair(t *testing.T, ckey, skey []byte, from, to, self uint32) (cerr, serr error, got uint32) {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	deadline := time.Now().Add(5 * time.Second)
	a.SetDeadline(deadline)
	b.SetDeadline(deadline)
	done := make(chan struct{})
	go func() {
		got, serr = ServerHandshake(b, skey, self)
		if serr != nil {
			b.Close()
		}
		close(done)
	}()
	cerr = ClientHandshake(a, ckey, from, to)
	if cerr != nil {
		a.Close()
	}
	<-done
	return
}

func TestHandshake(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	cerr, serr, got := handshakePair(t, key, key, 3, 1, 1)
	if cerr != nil || serr != nil || got != 3 {
		t.Fatalf("good handshake: %v %v %d", cerr, serr, got)
	}
	cerr, serr, _ = handshakePair(t, []byte("wrong secret wrong secret 123456"), key, 3, 1, 1)
	if !errors.Is(cerr, ErrAuth) || !errors.Is(serr, ErrAuth) {
		t.Fatalf("wrong secret: client %v server %v", cerr, serr)
	}
	cerr, serr, _ = handshakePair(t, key, key, 3, 2, 1)
	if !errors.Is(cerr, ErrAuth) || !errors.Is(serr, ErrAuth) {
		t.Fatalf("wrong target: client %v server %v", cerr, serr)
	}
}

// A server that does not know the key cannot fool a client either.
func TestHandshakeServerMustKnowKey(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	a, b := net.Pipe()
	defer a.Close()
	go func() {
		var hello [ServerHelloSize]byte
		copy(hello[:], "GRUN")
		hello[4] = Version
		b.Write(hello[:])
		io.ReadFull(b, make([]byte, ClientHelloSize))
		b.Write(make([]byte, ServerProofSize)) // status ok, bogus MAC
	}()
	a.SetDeadline(time.Now().Add(5 * time.Second))
	if err := ClientHandshake(a, key, 1, 0); !errors.Is(err, ErrAuth) {
		t.Fatalf("want ErrAuth, got %v", err)
	}
}

type rw struct {
	io.Reader
	io.Writer
}

func FuzzServerHandshake(f *testing.F) {
	good := ClientHello{From: 2, To: 1}
	f.Add(good.Encode())
	f.Add([]byte("GRUN\x01\x00\x00\x00"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		// Arbitrary bytes from a stranger never authenticate and never panic.
		_, err := ServerHandshake(rw{bytes.NewReader(in), io.Discard}, []byte("key"), 1)
		if err == nil {
			t.Fatalf("stranger bytes %x authenticated", in)
		}
	})
}

func FuzzClientHandshake(f *testing.F) {
	f.Add(append([]byte("GRUN\x01\x00\x00\x00"), make([]byte, 32+36)...))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		err := ClientHandshake(rw{bytes.NewReader(in), io.Discard}, []byte("key"), 2, 1)
		if err == nil {
			t.Fatalf("forged server %x authenticated", in)
		}
	})
}

// A dialer speaking another protocol version is refused, and a listener
// speaking another version is refused by the dialer, each with a message
// that names the versions.
func TestHandshakeVersionMismatch(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	c := ClientHello{From: 2, To: 1}
	b := c.Encode()
	b[4] = Version + 1
	var sh [ServerHelloSize]byte
	_, err := ServerHandshake(rw{bytes.NewReader(b), io.Discard}, key, 1)
	if !errors.Is(err, ErrAuth) || !bytes.Contains([]byte(err.Error()), []byte("version")) {
		t.Fatalf("server: %v", err)
	}
	copy(sh[:], "GRUN")
	sh[4] = Version + 1
	err = ClientHandshake(rw{bytes.NewReader(sh[:]), io.Discard}, key, 2, 1)
	if !errors.Is(err, ErrAuth) || !bytes.Contains([]byte(err.Error()), []byte("version")) {
		t.Fatalf("client: %v", err)
	}
}
