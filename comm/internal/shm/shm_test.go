package shm

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/comm/internal/tmpfstest"
)

// pair makes both sides of a channel in this process (Open reaches this
// process's own descriptor through /proc/self).
func pair(t *testing.T, a, b Options) (creator, opener *Channel) {
	t.Helper()
	seg, err := Create(a)
	if err != nil {
		t.Fatal(err)
	}
	opener, err = Open(seg.Handle(), b)
	if err != nil {
		seg.Close()
		t.Fatal(err)
	}
	creator, err = seg.Accept(testCtx(t, 10*time.Second), a)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { creator.Close(); opener.Close() })
	return creator, opener
}

func hdrOf(i uint64) (h [HeaderSize]byte) {
	for j := range h {
		h[j] = byte(i) + byte(j)
	}
	return h
}

// TestInProcess sends messages of many sizes across ring wraps and chunk
// edges, one goroutine sending and one receiving, over both large-copy
// paths.
func TestInProcess(t *testing.T) {
	for _, noCMA := range []bool{true, false} {
		t.Run("noCMA="+strconv.FormatBool(noCMA), func(t *testing.T) {
			o := Options{RingSize: 16 << 10, Chunk: 1 << 10, NoCMA: noCMA, CMAMin: 5000}
			a, b := pair(t, o, o)
			if !noCMA && !b.CMA() {
				t.Skip("process_vm_readv refused here")
			}
			ctx := testCtx(t, time.Minute)
			var sizes []int
			for n := range 3000 {
				sizes = append(sizes, n)
			}
			sizes = append(sizes, 4095, 4096, 4097, 5000, 16<<10, 100<<10, 1<<20+3)
			errc := make(chan error, 1)
			go func() {
				for i, n := range sizes {
					p := bytes.Repeat([]byte{byte(i)}, n)
					h := hdrOf(uint64(i))
					if err := a.Send(ctx, &h, p); err != nil {
						errc <- err
						return
					}
				}
				errc <- nil
			}()
			remote := 0
			for i, n := range sizes {
				m, err := b.Recv(ctx)
				if err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				if m.Header() != hdrOf(uint64(i)) || m.Len() != int64(n) {
					t.Fatalf("message %d: header %x len %d", i, m.Header(), m.Len())
				}
				if m.Remote() {
					remote++
				}
				got, err := io.ReadAll(m)
				if err != nil || !bytes.Equal(got, bytes.Repeat([]byte{byte(i)}, n)) {
					t.Fatalf("message %d (%d bytes): %v, payload ok %t", i, n, err, bytes.Equal(got, bytes.Repeat([]byte{byte(i)}, n)))
				}
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			if noCMA != (remote == 0) {
				t.Errorf("%d messages read from the sender's memory with NoCMA=%t", remote, noCMA)
			}
		})
	}
}

// TestDiscardAndPartialReads leaves messages half read: the next Poll
// skips the rest, and the stream stays in step.
func TestDiscardAndPartialReads(t *testing.T) {
	o := Options{RingSize: 16 << 10, Chunk: 1 << 10, NoCMA: true}
	a, b := pair(t, o, o)
	ctx := testCtx(t, time.Minute)
	go func() {
		for i := range 200 {
			h := hdrOf(uint64(i))
			a.Send(ctx, &h, bytes.Repeat([]byte{byte(i)}, i*37))
		}
	}()
	for i := range 200 {
		m, err := b.Recv(ctx)
		if err != nil || m.Header() != hdrOf(uint64(i)) {
			t.Fatalf("message %d: %v %x", i, err, m.Header())
		}
		switch i % 3 {
		case 0:
			var p [10]byte
			m.Read(p[:])
		case 1:
			if err := m.Discard(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if m, err := b.Poll(); m != nil || err != nil {
		t.Fatalf("Poll after the last message: %v, %v", m, err)
	}
}

// TestOrderingAcrossProcesses: a peer process sends a million records of
// random sizes (and a few large ones), this process checks each one's
// header and every payload byte, over both large-copy paths and a small
// ring that wraps all the time.
func TestOrderingAcrossProcesses(t *testing.T) {
	count := 1_000_000
	if testing.Short() || raceEnabled {
		count = 50_000
	}
	cases := []struct {
		name  string
		o     Options
		count int
		max   int
	}{
		{"ring=1MiB,noCMA", Options{NoCMA: true}, count, 1 << 20},
		{"ring=1MiB,CMA", Options{CMAMin: 8 << 10}, count, 1 << 20},
		{"ring=16KiB,noCMA", Options{RingSize: 16 << 10, Chunk: 1 << 10, NoCMA: true}, count / 5, 64 << 10},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t, 4*time.Minute)
			p := startPeer(t, ctx, "send-random", true, tc.o, tc.o,
				"SHM_SEED=7", "SHM_COUNT="+strconv.Itoa(tc.count), "SHM_MAXLEN="+strconv.Itoa(tc.max))
			if err := checkRandom(ctx, p.ch, 7, tc.count, tc.max); err != nil {
				t.Fatal(err)
			}
			if err := p.wait(); err != nil {
				t.Fatalf("peer: %v", err)
			}
			if m, err := p.ch.Recv(ctx); !errors.Is(err, ErrPeerClosed) {
				t.Fatalf("after the peer closed: %v, %v", m, err)
			}
		})
	}
}

// TestEcho: messages to a peer and back, child as the creator this time.
func TestEcho(t *testing.T) {
	for _, noCMA := range []bool{true, false} {
		t.Run("noCMA="+strconv.FormatBool(noCMA), func(t *testing.T) {
			ctx := testCtx(t, time.Minute)
			o := Options{NoCMA: noCMA, CMAMin: 4096}
			p := startPeer(t, ctx, "echo", false, o, o)
			for i, n := range []int{0, 1, 8, 4095, 4096, 65536, 1 << 20, 4<<20 + 1} {
				h := hdrOf(uint64(i))
				out := bytes.Repeat([]byte{byte(i + 1)}, n)
				if err := p.ch.Send(ctx, &h, out); err != nil {
					t.Fatal(err)
				}
				m, err := p.ch.Recv(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if m.Remote() != (!noCMA && n >= 4096 && p.ch.CMA()) {
					t.Errorf("%d bytes: Remote %t", n, m.Remote())
				}
				got, err := io.ReadAll(m)
				if err != nil || m.Header() != h || !bytes.Equal(got, out) {
					t.Fatalf("%d bytes: %v", n, err)
				}
			}
			var stop [HeaderSize]byte
			stop[0] = opStop
			p.ch.Send(ctx, &stop, nil)
			if err := p.wait(); err != nil {
				t.Fatalf("peer: %v", err)
			}
		})
	}
}

// TestPeerKilled kills the peer with SIGKILL in the middle of a message
// (chunked, and read from its memory), while this side waits for a
// message, and while this side's Send waits for ring space: each wait
// ends with ErrPeerDead, well before the test's deadline.
func TestPeerKilled(t *testing.T) {
	t.Run("mid-message", func(t *testing.T) {
		for _, noCMA := range []bool{true, false} {
			t.Run("noCMA="+strconv.FormatBool(noCMA), func(t *testing.T) {
				ctx := testCtx(t, time.Minute)
				o := Options{NoCMA: noCMA}
				p := startPeer(t, ctx, "send-huge", true, o, o, "SHM_COUNT="+strconv.Itoa(256<<20))
				p.line("sending")
				m, err := p.ch.Recv(ctx)
				if err != nil {
					t.Fatal(err)
				}
				// A remote payload needs this side's CMA. (CMA without a
				// remote payload happens when the peer's Send looks at
				// this side's announcement before Accept has probed and
				// made it: the payload then goes through the ring.)
				if m.Remote() && !p.ch.CMA() {
					t.Fatalf("CMA %t, Remote %t", p.ch.CMA(), m.Remote())
				}
				buf := make([]byte, 1<<20)
				if _, err := io.ReadFull(m, buf); err != nil {
					t.Fatal(err)
				}
				p.kill()
				start := time.Now()
				_, err = io.Copy(io.Discard, m)
				if !errors.Is(err, ErrPeerDead) {
					t.Fatalf("reading after the peer died: %v", err)
				}
				t.Logf("noticed in %v: %v", time.Since(start), err)
			})
		}
	})
	t.Run("recv", func(t *testing.T) {
		ctx := testCtx(t, time.Minute)
		p := startPeer(t, ctx, "hold", true, Options{}, Options{})
		p.line("ready")
		errc := make(chan error, 1)
		go func() { _, err := p.ch.Recv(ctx); errc <- err }()
		p.kill()
		if err := <-errc; !errors.Is(err, ErrPeerDead) {
			t.Fatalf("Recv: %v", err)
		}
	})
	t.Run("send", func(t *testing.T) {
		ctx := testCtx(t, time.Minute)
		o := Options{RingSize: 16 << 10, Chunk: 1 << 10, NoCMA: true}
		p := startPeer(t, ctx, "hold", false, o, o)
		p.line("ready")
		errc := make(chan error, 1)
		go func() {
			var h [HeaderSize]byte
			errc <- p.ch.Send(ctx, &h, make([]byte, 1<<20))
		}()
		p.kill()
		if err := <-errc; !errors.Is(err, ErrPeerDead) {
			t.Fatalf("Send: %v", err)
		}
	})
}

// TestClose: closing one side ends the other side's waits with
// ErrPeerClosed, and this side's own waits with ErrClosed.
func TestClose(t *testing.T) {
	a, b := pair(t, Options{}, Options{})
	ctx := testCtx(t, 30*time.Second)
	errc := make(chan error, 2)
	go func() { _, err := b.Recv(ctx); errc <- err }()
	go func() { _, err := a.Recv(ctx); errc <- err }()
	a.Close()
	for range 2 {
		if err := <-errc; !errors.Is(err, ErrPeerClosed) && !errors.Is(err, ErrClosed) {
			t.Fatalf("Recv: %v", err)
		}
	}
	var h [HeaderSize]byte
	if err := a.Send(ctx, &h, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Close: %v", err)
	}
	if err := b.Send(ctx, &h, nil); !errors.Is(err, ErrPeerClosed) {
		t.Fatalf("Send to a closed peer: %v", err)
	}
	a.Close()
}

// TestRecvDeadline: a wait with nothing coming ends with the context's
// error.
func TestRecvDeadline(t *testing.T) {
	_, b := pair(t, Options{}, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := b.Recv(ctx); !isDeadline(err) {
		t.Fatalf("Recv: %v", err)
	}
	m, err := b.Poll()
	if m != nil || err != nil {
		t.Fatalf("Poll: %v %v", m, err)
	}
}

// TestOversubscribed: four channels to four peer processes ping-pong at
// once, more pollers than this host has CPUs, with Yield and a short
// spin: every exchange completes (a waiter yields, then sleeps).
func TestOversubscribed(t *testing.T) {
	ctx := testCtx(t, 2*time.Minute)
	o := Options{Yield: true, Spin: 20 * time.Microsecond}
	const peers, rounds = 4, 2000
	errc := make(chan error, peers)
	for i := range peers {
		p := startPeer(t, ctx, "echo", i%2 == 0, o, o)
		go func() {
			var h [HeaderSize]byte
			buf := make([]byte, 100)
			for r := range rounds {
				h[1] = byte(r)
				if err := p.ch.Send(ctx, &h, buf[:r%100]); err != nil {
					errc <- err
					return
				}
				m, err := p.ch.Recv(ctx)
				if err != nil {
					errc <- err
					return
				}
				if g := m.Header(); g != h || m.Len() != int64(r%100) {
					errc <- errors.New("echo out of step")
					return
				}
			}
			h[0] = opStop
			errc <- p.ch.Send(ctx, &h, nil)
		}()
	}
	for range peers {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
}

// shmEntries lists /dev/shm.
func shmEntries(t *testing.T) map[string]bool {
	ents, err := os.ReadDir("/dev/shm")
	if err != nil {
		t.Skip("no /dev/shm:", err)
	}
	m := map[string]bool{}
	for _, e := range ents {
		m[e.Name()] = true
	}
	return m
}

// memfdMapped reports whether this process still maps a segment.
func memfdMapped(t *testing.T) bool {
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Contains(b, []byte("gorun-shm-"))
}

// TestNothingLeft: no file appears in /dev/shm (backed by a memfd, or by
// an unnamed file in /dev/shm itself) after a clean end or SIGKILL of
// either side, and the survivor's mapping is gone after its Close.
func TestNothingLeft(t *testing.T) {
	for _, dir := range []string{"", "/dev/shm"} {
		for _, end := range []string{"clean", "kill-opener", "kill-creator"} {
			t.Run("dir="+dir+"/"+end, func(t *testing.T) {
				before := shmEntries(t)
				ctx := testCtx(t, time.Minute)
				o := Options{Dir: dir}
				p := startPeer(t, ctx, "hold", end != "kill-creator", o, o)
				p.line("ready")
				var h [HeaderSize]byte
				if err := p.ch.Send(ctx, &h, []byte("x")); err != nil {
					t.Fatal(err)
				}
				if end == "clean" {
					p.stdin.Close()
					if err := p.wait(); err != nil {
						t.Fatal(err)
					}
				} else {
					p.kill()
				}
				for name := range shmEntries(t) {
					if !before[name] && strings.Contains(name, "gorun") {
						t.Errorf("/dev/shm/%s left behind", name)
					}
				}
				p.ch.Close()
				if dir == "" && memfdMapped(t) {
					t.Errorf("segment still mapped after Close")
				}
			})
		}
	}
}

// TestTinyTmpfs: a segment that does not fit its tmpfs fails at Create
// with ErrNoSpace (and no SIGBUS later). Needs root for the mount, in a
// mount namespace of its own (unshare -m).
func TestTinyTmpfs(t *testing.T) {
	if dir := tmpfstest.Dir(); dir != "" {
		_, err := Create(Options{Dir: dir, RingSize: 1 << 20})
		if !errors.Is(err, ErrNoSpace) {
			t.Fatalf("Create in a 1 MiB tmpfs: %v, want ErrNoSpace", err)
		}
		t.Log(err)
		// A segment that fits works.
		s, err := Create(Options{Dir: dir, RingSize: 64 << 10})
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		return
	}
	tmpfstest.Rerun(t, "1M", time.Minute)
}

func TestHandleRoundTrip(t *testing.T) {
	h := Handle{Pid: 1234, FD: 7, Size: int64(segSize(1 << 20))}
	for i := range h.Token {
		h.Token[i] = byte(i * 3)
	}
	b, _ := h.AppendBinary(nil)
	if len(b) != HandleSize {
		t.Fatalf("%d bytes", len(b))
	}
	g, err := ParseHandle(b)
	if err != nil || g != h {
		t.Fatalf("%+v %v", g, err)
	}
	for _, bad := range [][]byte{b[:39], append(b[:4:4], 2, 0, 0, 0), nil} {
		if _, err := ParseHandle(bad); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("ParseHandle(%x): %v", bad, err)
		}
	}
}

func TestBadOptions(t *testing.T) {
	for _, o := range []Options{{RingSize: 3 << 10}, {RingSize: 1 << 12}, {RingSize: 1 << 16, Chunk: 1 << 15}, {Chunk: 100}, {RingSize: -1}} {
		if s, err := Create(o); !errors.Is(err, ErrInvalidArgument) {
			if s != nil {
				s.Close()
			}
			t.Errorf("Create(%+v): %v", o, err)
		}
	}
}

func TestOpenRefusesStrangers(t *testing.T) {
	seg, err := Create(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer seg.Close()
	h := seg.Handle()
	h.Token[0] ^= 1
	if _, err := Open(h, Options{}); !errors.Is(err, ErrBadSegment) {
		t.Errorf("wrong token: %v", err)
	}
	h = seg.Handle()
	h.Size += 4096
	if _, err := Open(h, Options{}); !errors.Is(err, ErrBadSegment) {
		t.Errorf("wrong size: %v", err)
	}
	f, _ := os.CreateTemp(t.TempDir(), "x")
	f.Truncate(h.Size)
	h = seg.Handle()
	h.FD = int32(f.Fd())
	if _, err := Open(h, Options{}); !errors.Is(err, ErrBadSegment) {
		t.Errorf("a plain file: %v", err)
	}
	f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if _, err := seg.Accept(ctx, Options{}); !isDeadline(err) {
		t.Errorf("Accept with nobody: %v", err)
	}
}
