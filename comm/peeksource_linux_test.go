//go:build linux && !gorun_portable

package comm

import (
	"bytes"
	"errors"
	"io"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// peekPair is a peeking rawSource on one end of a loopback TCP connection
// and the other end to write with. sends stands for the link's writes.
type peekPair struct {
	src   *rawSource
	sends *atomic.Uint64
	w     net.Conn
	p     *parker
}

func newPeekPair(t *testing.T) *peekPair {
	t.Helper()
	c, w := tcpPair(t)
	t.Cleanup(func() { w.Close() })
	f, err := detach(c.(*net.TCPConn))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	p, err := newParker(rc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.close)
	var serr error
	rc.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PEEK_OFF, 0) })
	if serr != nil {
		t.Skipf("this kernel keeps no peek offset for TCP sockets: %v", serr)
	}
	pp := &peekPair{sends: new(atomic.Uint64), w: w, p: p}
	pp.src = &rawSource{rc: rc, wait: p, spin: -1, peek: true, sends: pp.sends}
	return pp
}

// state is the kernel's view of the socket: its peek offset and the bytes
// queued.
func (pp *peekPair) state(t *testing.T) (off, queued int) {
	t.Helper()
	var err1, err2 error
	pp.src.rc.Control(func(fd uintptr) {
		off, err1 = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PEEK_OFF)
		queued, err2 = unix.IoctlGetInt(int(fd), unix.SIOCINQ)
	})
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	return off, queued
}

// write sends n bytes counting on from *next, and waits until the kernel
// has queued them (queued bytes before, plus n): over loopback the write
// delivers them before it returns, so the first look nearly always finds
// them; the loop, bounded, covers a delivery the kernel deferred.
func (pp *peekPair) write(t *testing.T, next *byte, n int) []byte {
	t.Helper()
	_, before := pp.state(t)
	b := make([]byte, n)
	for i := range b {
		b[i] = *next
		*next++
	}
	if _, err := pp.w.Write(b); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, q := pp.state(t); q >= before+n {
			return b
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d bytes written did not arrive", n)
		}
		runtime.Gosched()
	}
}

// read reads once, without waiting, and checks it got want.
func (pp *peekPair) read(t *testing.T, want []byte) {
	t.Helper()
	pp.src.nonblock = true
	defer func() { pp.src.nonblock = false }()
	buf := make([]byte, 64<<10)
	n, err := pp.src.Read(buf)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if !bytes.Equal(buf[:n], want) {
		t.Fatalf("read %d bytes, want %d (or different bytes)", n, len(want))
	}
}

// check compares the kernel's peek offset with src.unconsumed and the
// queued bytes with unconsumed plus unread.
func (pp *peekPair) check(t *testing.T, what string, unconsumed, unread int) {
	t.Helper()
	off, q := pp.state(t)
	if pp.src.unconsumed != unconsumed || off != unconsumed || q != unconsumed+unread {
		t.Fatalf("%s: unconsumed %d, peek offset %d, queued %d; want %d, %d, %d",
			what, pp.src.unconsumed, off, q, unconsumed, unconsumed, unconsumed+unread)
	}
}

// TestPeekSourceAccounting steps a peeking rawSource through each way it
// reads and checks, after every step, that the kernel's peek offset equals
// the bytes it counts as read but queued, and that the kernel queues
// exactly those and the unread ones.
func TestPeekSourceAccounting(t *testing.T) {
	pp := newPeekPair(t)
	var next byte
	steps := []struct {
		what       string
		send       bool // a write on the link first
		large      bool // reading the payload of a large frame
		n          int  // bytes the peer writes, then read at once
		unconsumed int  // bytes read but left queued after
		bulk       bool // whether the source then takes bulk data
	}{
		{what: "a peek", n: 100, unconsumed: 100},
		{what: "a second peek", n: 50, unconsumed: 150},
		{what: "a read after a send (takes the queued bytes too)", send: true, n: 10},
		{what: "a peek", n: 40, unconsumed: 40},
		{what: "a peek that reaches the threshold (discards)", n: consumeAt, bulk: true},
		{what: "a read after bulk data (takes)", n: 10},
		{what: "a peek again", n: 10, unconsumed: 10},
		{what: "a large payload's read (takes)", large: true, n: 30},
		{what: "a peek", n: 20, unconsumed: 20},
	}
	for _, st := range steps {
		if st.send {
			pp.sends.Add(1)
		}
		pp.src.large = st.large
		pp.read(t, pp.write(t, &next, st.n))
		pp.src.large = false
		pp.check(t, st.what, st.unconsumed, 0)
		if pp.src.bulk != st.bulk {
			t.Fatalf("%s: bulk %v, want %v", st.what, pp.src.bulk, st.bulk)
		}
	}

	// A send with only queued bytes left: they are taken, nothing new.
	pp.sends.Add(1)
	pp.src.nonblock = true
	if _, err := pp.src.Read(make([]byte, 100)); err != errWouldBlock {
		t.Fatalf("a read with nothing new: %v, want errWouldBlock", err)
	}
	pp.src.nonblock = false
	pp.check(t, "a read after a send with nothing new", 0, 0)

	// A read that parks discards what is queued first: the parked reader
	// must not find its socket readable.
	i := pp.write(t, &next, 25)
	pp.read(t, i)
	pp.check(t, "a peek before parking", 25, 0)
	parked := make(chan struct{})
	pp.src.parking = func() { close(parked) }
	got := make(chan []byte, 1)
	go func() {
		buf := make([]byte, 100)
		n, err := pp.src.Read(buf) // parks: Spin is negative
		if err != nil {
			t.Error(err)
		}
		got <- buf[:n]
	}()
	select {
	case <-parked:
	case <-time.After(5 * time.Second):
		t.Fatal("the read did not park")
	}
	if _, q := pp.state(t); q != 0 {
		t.Fatalf("the reader is parking with %d bytes queued, want none", q)
	}
	j := make([]byte, 7)
	for k := range j {
		j[k] = next
		next++
	}
	if _, err := pp.w.Write(j); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-got:
		if !bytes.Equal(b, j) {
			t.Fatalf("the parked read got %d bytes, want the 7 written", len(b))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the parked read did not wake")
	}
	pp.check(t, "a parked read's peek", 7, 0)
}

// TestPeekSourceEndOfStream: bytes read but queued when the peer closes
// are followed by io.EOF, whether or not the link sent in between.
func TestPeekSourceEndOfStream(t *testing.T) {
	for _, sent := range []bool{false, true} {
		pp := newPeekPair(t)
		var next byte
		a := pp.write(t, &next, 5)
		pp.read(t, a)
		pp.w.Close()
		if sent {
			pp.sends.Add(1)
		}
		done := make(chan error, 1)
		go func() {
			_, err := pp.src.Read(make([]byte, 100))
			done <- err
		}()
		select {
		case err := <-done:
			if !errors.Is(err, io.EOF) {
				t.Fatalf("sent %v: after the peer closed: %v, want io.EOF", sent, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("sent %v: the read after the peer closed did not return", sent)
		}
	}
}
