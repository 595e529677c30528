package shm

import (
	"encoding/binary"
	"errors"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

// memRing is a ring in ordinary memory, with a producer and a consumer
// that never wait (their waits return errWouldBlock).
type memRing struct {
	mem []uint64
	p   producer
	c   consumer
}

func newMemRing(size, chunk uint64) *memRing {
	m := &memRing{mem: make([]uint64, (ctlSize+size)/8)}
	base := unsafe.Pointer(&m.mem[0])
	v := ringView{ctl: base, data: unsafe.Add(base, ctlSize), size: size, mask: size - 1, maxChunk: chunk}
	noWait := func(ready func() (bool, error), _, _ *uint32) error {
		if ok, err := ready(); ok || err != nil {
			return err
		}
		return errWouldBlock
	}
	noWake := func(*uint32) {}
	m.p = producer{r: v, seq: 1, wait: noWait, wake: noWake}
	m.c = consumer{r: v, seq: 1, wait: noWait, wake: noWake, limit: 1 << 20,
		readRemote: func(dst []byte, addr uint64) error { clear(dst); return nil }}
	return m
}

func (m *memRing) data() []byte {
	return unsafe.Slice((*byte)(m.p.r.data), m.p.r.size)
}

// drain reads every complete message, as a link would.
func (m *memRing) drain() error {
	buf := make([]byte, 3000)
	for range 1000 {
		ok, err := m.c.next()
		if err != nil || !ok {
			return err
		}
		for m.c.state != idle {
			if _, err := m.c.read(buf, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// TestCorruptRing: each way a hostile or broken peer can break the ring
// fails the channel with ErrCorrupt, at once, and for good.
func TestCorruptRing(t *testing.T) {
	const size, chunk = 4096, 1024
	var hdr [HeaderSize]byte
	le := binary.LittleEndian
	cases := []struct {
		name    string
		corrupt func(m *memRing)
	}{
		{"bad kind", func(m *memRing) { le.PutUint64(m.data(), word(9, 0, 1)) }},
		{"sequence backwards", func(m *memRing) {
			m.p.sendMsg(&hdr, nil)
			m.c.next()
			le.PutUint64(m.data()[64:], word(kindMsg, 0, 1)) // the first record again
		}},
		{"length over the chunk", func(m *memRing) { le.PutUint64(m.data(), word(kindMsg, chunk+1, 1)) }},
		{"record crossing the end", func(m *memRing) {
			m.c.head, m.c.seq = size-64, 1
			le.PutUint64(m.data()[size-64:], word(kindMsg, 100, 1))
		}},
		{"continuation outside a message", func(m *memRing) { le.PutUint64(m.data(), word(kindChunk, 10, 1)) }},
		{"wrap at offset 0", func(m *memRing) { le.PutUint64(m.data(), word(kindWrap, 0, 1)) }},
		{"wrap with a length", func(m *memRing) {
			m.c.head = 64
			le.PutUint64(m.data()[64:], word(kindWrap, 8, 1))
		}},
		{"total under the first record", func(m *memRing) {
			le.PutUint64(m.data()[8+HeaderSize:], 5)
			le.PutUint64(m.data(), word(kindMsg, 10, 1))
		}},
		{"total over the limit", func(m *memRing) {
			le.PutUint64(m.data()[8+HeaderSize:], 1<<40)
			le.PutUint64(m.data(), word(kindMsg, 10, 1))
		}},
		{"empty first record of a long message", func(m *memRing) {
			le.PutUint64(m.data()[8+HeaderSize:], 5000)
			le.PutUint64(m.data(), word(kindMsg, 0, 1))
		}},
		{"chunk longer than the rest", func(m *memRing) {
			m.p.sendMsg(&hdr, make([]byte, 1500))
			d := m.data()
			le.PutUint64(d[1088:], word(kindChunk, 1000, 2)) // the second record: 476 bytes left
		}},
		{"remote descriptor not asked for", func(m *memRing) { le.PutUint64(m.data(), word(kindCMA, 0, 1)) }},
		{"remote descriptor out of order", func(m *memRing) {
			m.c.allowRemote = true
			le.PutUint64(m.data()[8+HeaderSize+16:], 5)
			le.PutUint64(m.data(), word(kindCMA, 0, 1))
		}},
		{"remote descriptor with a length", func(m *memRing) {
			m.c.allowRemote = true
			le.PutUint64(m.data(), word(kindCMA, 8, 1))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := newMemRing(size, chunk)
			tc.corrupt(m)
			err := m.drain()
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("drain: %v, want ErrCorrupt", err)
			}
			t.Log(err)
			if _, err2 := m.c.next(); !errors.Is(err2, ErrCorrupt) {
				t.Fatalf("after the failure: %v", err2)
			}
		})
	}
	// The producer's side: what it reads back from the consumer.
	pcases := []struct {
		name    string
		corrupt func(m *memRing)
		send    func(m *memRing) error
	}{
		{"consumer index backwards", func(m *memRing) {
			for range 40 {
				m.p.sendMsg(&hdr, make([]byte, 50))
			}
			m.p.refreshHead()
			m.p.head = 1024
		}, func(m *memRing) error { return m.p.sendMsg(&hdr, make([]byte, 1000)) }},
		{"consumer index past the producer's", func(m *memRing) {
			for range 40 {
				m.p.sendMsg(&hdr, make([]byte, 50))
			}
			atomic.StoreUint64(m.p.r.ctlU64(offHead), 1<<40)
		}, func(m *memRing) error { return m.p.sendMsg(&hdr, make([]byte, 1000)) }},
		{"acknowledgement for nothing", func(m *memRing) {
			atomic.StoreUint64(m.p.r.ctlU64(offAck), 7)
		}, func(m *memRing) error { return m.p.sendRemote(&hdr, make([]byte, 10)) }},
	}
	for _, tc := range pcases {
		t.Run(tc.name, func(t *testing.T) {
			m := newMemRing(size, chunk)
			tc.corrupt(m)
			if err := tc.send(m); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("send: %v, want ErrCorrupt", err)
			} else {
				t.Log(err)
			}
		})
	}
}

// TestCorruptSegment scribbles over a live channel's incoming ring: the
// receiving side refuses it and the channel stays failed.
func TestCorruptSegment(t *testing.T) {
	a, b := pair(t, Options{}, Options{})
	ctx := testCtx(t, 10*time.Second)
	var h [HeaderSize]byte
	if err := a.Send(ctx, &h, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	// b's incoming ring is a's outgoing one: overwrite the record's word
	// with a length far past the end.
	*(*uint64)(a.tx.r.data) = word(kindMsg, 1<<31, 1)
	if _, err := b.Recv(ctx); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Recv: %v", err)
	}
	if _, err := b.Poll(); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Poll after: %v", err)
	}
}

// FuzzRing decodes arbitrary ring contents and indices: the consumer
// either delivers messages whose every byte lies inside the data area, or
// fails with ErrCorrupt; it never panics, over-reads or loops. The
// producer, given an arbitrary consumer index and acknowledgement, never
// writes outside the data area.
func FuzzRing(f *testing.F) {
	m := newMemRing(4096, 1024)
	var hdr [HeaderSize]byte
	for _, n := range []int{0, 5, 1000, 3000} {
		m.p.sendMsg(&hdr, make([]byte, n))
	}
	seed := append(make([]byte, 24), m.data()...)
	f.Add(seed)
	f.Add([]byte{})
	binary.LittleEndian.PutUint64(seed[0:], 4000)
	f.Add(seed)
	f.Fuzz(func(t *testing.T, b []byte) {
		const size = 4096
		m := newMemRing(size, 1024)
		var head, ack, misc uint64
		if len(b) >= 24 {
			head, ack, misc = binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[8:]), binary.LittleEndian.Uint64(b[16:])
			b = b[24:]
		}
		copy(m.data(), b)
		m.c.head = head &^ (recAlign - 1)
		m.c.seq = uint32(misc)
		m.c.allowRemote = misc&(1<<40) != 0
		err := m.drain()
		if err != nil && !errors.Is(err, ErrCorrupt) && err != errWouldBlock {
			t.Fatalf("drain: %v", err)
		}
		if m.c.state == body && m.c.recOff+m.c.recLeft > size {
			t.Fatalf("record payload [%d, +%d) outside the ring", m.c.recOff, m.c.recLeft)
		}
		// The producer, against whatever index the bytes left.
		m.p.tail = head
		m.p.head = head - misc%size
		atomic.StoreUint64(m.p.r.ctlU64(offAck), ack)
		for i := range 8 {
			var err error
			if i%4 == 3 {
				m.p.acks = misc % 3
				err = m.p.sendRemote(&hdr, make([]byte, 10))
			} else {
				err = m.p.sendMsg(&hdr, make([]byte, (misc>>(8*i))%2500))
			}
			if err != nil && !errors.Is(err, ErrCorrupt) && err != errWouldBlock {
				t.Fatalf("send: %v", err)
			}
		}
	})
}

// FuzzHandle: whatever ParseHandle accepts re-encodes to the same bytes.
func FuzzHandle(f *testing.F) {
	h := Handle{Sealed: true, Pid: 99, FD: 3, Size: int64(segSize(1 << 20))}
	b, _ := h.AppendBinary(nil)
	f.Add(b)
	f.Add(b[:10])
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHandle(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidArgument) {
				t.Fatal(err)
			}
			return
		}
		e, _ := h.AppendBinary(nil)
		if string(e) != string(b) {
			t.Fatalf("%x re-encodes as %x", b, e)
		}
	})
}
