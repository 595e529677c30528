package shm

import (
	"fmt"
	"sync/atomic"
	"unsafe"
)

// HeaderSize is the size of the fixed header every message carries: the
// comm frame header. The ring does not interpret it.
const HeaderSize = 40

// Ring layout. A ring is one direction of a channel: a control block of
// ctlSize bytes and a data area of a power-of-two size. Each control word
// sits on a line of its own (128 bytes: a line and the neighbour that the
// adjacent-line prefetcher pulls with it), grouped by the side that writes
// it, so that a side polling a word never pulls a line the other side is
// busy writing.
const (
	line = 128

	offHead      = 0 * line // u64, consumer: position up to which the data area is free
	offAck       = 1 * line // u64, consumer: id of the last remote (CMA) message it finished
	offConsSleep = 2 * line // u32, consumer: non-zero while it sleeps, or is about to
	offProdSleep = 3 * line // u32, producer: non-zero while it sleeps for space or an acknowledgement
	offConsFutex = 4 * line // u32, bumped by the producer to wake the consumer
	offProdFutex = 5 * line // u32, bumped by the consumer to wake the producer

	ctlSize = 4096
)

// Records. Every record starts on a 64-byte boundary of the data area with
// an 8-byte word, stored last by the producer (an atomic store: a release)
// and loaded first by the consumer (an acquire):
//
//	bits  0-31  n: payload bytes in this record
//	bits 32-39  kind
//	bits 40-63  sequence number of the record, modulo 2^24
//
// A word is never zero: before the producer publishes a record it stores a
// zero word where the next record will start, so the consumer, having
// read a record, finds at the next position either zero (nothing yet) or
// the next record's word, never a stale one. Records never cross the end
// of the data area: a record that does not fit is preceded by a wrap
// record, which says "continue at offset 0".
const (
	kindMsg   = 1 // word, header[40], total u64, first n payload bytes
	kindChunk = 2 // word, the next n payload bytes of the message in progress
	kindWrap  = 3 // word only, n = 0: the rest of the data area is skipped
	kindCMA   = 4 // word, header[40], total u64, address u64, id u64; n = 0: read the payload from the sender's memory

	fixedMsg   = 8 + HeaderSize + 8
	fixedChunk = 8
	fixedCMA   = 8 + HeaderSize + 24

	recAlign = 64
	seqMask  = 1<<24 - 1
)

func recSize(fixed, n uint64) uint64 { return (fixed + n + recAlign - 1) &^ (recAlign - 1) }

func word(kind uint32, n uint64, seq uint32) uint64 {
	return n | uint64(kind)<<32 | uint64(seq&seqMask)<<40
}

// ringView locates one ring in memory.
type ringView struct {
	ctl      unsafe.Pointer // ctlSize bytes
	data     unsafe.Pointer // size bytes
	size     uint64         // power of two
	mask     uint64
	maxChunk uint64 // payload bytes per record at most
}

func (r *ringView) ctlU64(off uintptr) *uint64 { return (*uint64)(unsafe.Add(r.ctl, off)) }
func (r *ringView) ctlU32(off uintptr) *uint32 { return (*uint32)(unsafe.Add(r.ctl, off)) }
func (r *ringView) dataU64(off uint64) *uint64 { return (*uint64)(unsafe.Add(r.data, off)) }
func (r *ringView) bytes(off, n uint64) []byte {
	return unsafe.Slice((*byte)(unsafe.Add(r.data, off)), n)
}

// waitFunc blocks until ready reports true or an error, announcing the
// sleep in *sleep and sleeping on *futex (see Channel.wait). It returns
// errWouldBlock when the caller must not block.
type waitFunc func(ready func() (bool, error), sleep, futex *uint32) error

// The consumer's sleep word counts its sleepers: readerSleep for a
// WaitReady, 1 for any other wait, less readerSleep while the consumer's
// process hides its WaitReady (Channel.HideReader: goroutines there poll,
// and a message needs no wake-up). As an int32 it is (R-H)*readerSleep+C,
// R and H in {0, 1}, C the other sleepers (fewer than readerSleep).
const readerSleep = 1 << 16

// consumerAsleep reports whether the consumer's sleep word w asks the
// producer to wake it: another wait sleeps, or a WaitReady that is not
// hidden. (A hostile value only costs wake-ups or delays its own side.)
func consumerAsleep(w uint32) bool {
	return w&(readerSleep-1) != 0 || int32(w) >= readerSleep
}

// wakeFunc wakes whoever sleeps on *futex (after bumping it).
type wakeFunc func(futex *uint32)

// producer writes one ring. Its fields are private to the writing side;
// the only things it reads from shared memory are the consumer's head and
// acknowledgement, both checked before use.
type producer struct {
	r    ringView
	tail uint64 // next position to write
	seq  uint32 // sequence number of the next record
	head uint64 // the consumer's head, as last read
	acks uint64 // remote messages sent
	wait waitFunc
	wake wakeFunc
}

func (p *producer) refreshHead() error {
	h := atomic.LoadUint64(p.r.ctlU64(offHead))
	if h < p.head || h > p.tail {
		return fmt.Errorf("%w: consumer index %d outside [%d, %d]", ErrCorrupt, h, p.head, p.tail)
	}
	p.head = h
	return nil
}

// reserve waits until n bytes from tail are free. The consumer's index is
// read only when the ring looks full.
func (p *producer) reserve(n uint64) error {
	if p.tail+n <= p.head+p.r.size {
		return nil
	}
	if err := p.refreshHead(); err != nil {
		return err
	}
	if p.tail+n <= p.head+p.r.size {
		return nil
	}
	return p.wait(func() (bool, error) {
		if err := p.refreshHead(); err != nil {
			return false, err
		}
		return p.tail+n <= p.head+p.r.size, nil
	}, p.r.ctlU32(offProdSleep), p.r.ctlU32(offProdFutex))
}

// begin makes room for a record of fixed+n bytes, writing a wrap record
// first if it would cross the end, and stores the zero word after it. It
// returns the record's offset in the data area.
func (p *producer) begin(fixed, n uint64) (uint64, error) {
	size := recSize(fixed, n)
	off := p.tail & p.r.mask
	if off+size > p.r.size {
		pad := p.r.size - off
		if err := p.reserve(pad + 8); err != nil {
			return 0, err
		}
		atomic.StoreUint64(p.r.dataU64(0), 0)
		p.publish(off, kindWrap, 0, pad)
		off = 0
	}
	if err := p.reserve(size + 8); err != nil {
		return 0, err
	}
	atomic.StoreUint64(p.r.dataU64((off+size)&p.r.mask), 0)
	return off, nil
}

// publish stores the word of the record at off (size bytes), and wakes
// the consumer if it announced that it sleeps. The store and the load
// are sequentially consistent: either the consumer sees the word after
// announcing its sleep, or the producer sees the announcement.
func (p *producer) publish(off uint64, kind uint32, n, size uint64) {
	atomic.StoreUint64(p.r.dataU64(off), word(kind, n, p.seq))
	p.seq++
	p.tail += size
	if consumerAsleep(atomic.LoadUint32(p.r.ctlU32(offConsSleep))) {
		p.wake(p.r.ctlU32(offConsFutex))
	}
}

// sendMsg writes a message: one record with the header and the first
// chunk of payload, then a record per further chunk. Chunks are published
// one by one, so the consumer copies one out while the next is written.
func (p *producer) sendMsg(hdr *[HeaderSize]byte, payload []byte) error {
	total := uint64(len(payload))
	n := min(total, p.r.maxChunk)
	off, err := p.begin(fixedMsg, n)
	if err != nil {
		return err
	}
	copy(p.r.bytes(off+8, HeaderSize), hdr[:])
	*p.r.dataU64(off + 8 + HeaderSize) = total
	copy(p.r.bytes(off+fixedMsg, n), payload[:n])
	p.publish(off, kindMsg, n, recSize(fixedMsg, n))
	for rest := payload[n:]; len(rest) > 0; {
		n := min(uint64(len(rest)), p.r.maxChunk)
		off, err := p.begin(fixedChunk, n)
		if err != nil {
			return err
		}
		copy(p.r.bytes(off+fixedChunk, n), rest[:n])
		p.publish(off, kindChunk, n, recSize(fixedChunk, n))
		rest = rest[n:]
	}
	return nil
}

// sendRemote writes a descriptor of payload, which the consumer reads
// from this process's memory, and waits for its acknowledgement: payload
// must not change until then.
func (p *producer) sendRemote(hdr *[HeaderSize]byte, payload []byte) error {
	off, err := p.begin(fixedCMA, 0)
	if err != nil {
		return err
	}
	p.acks++
	id := p.acks
	copy(p.r.bytes(off+8, HeaderSize), hdr[:])
	*p.r.dataU64(off + 8 + HeaderSize) = uint64(len(payload))
	*p.r.dataU64(off + 16 + HeaderSize) = uint64(uintptr(unsafe.Pointer(unsafe.SliceData(payload))))
	*p.r.dataU64(off + 24 + HeaderSize) = id
	p.publish(off, kindCMA, 0, recSize(fixedCMA, 0))
	acked := func() (bool, error) {
		a := atomic.LoadUint64(p.r.ctlU64(offAck))
		if a > p.acks {
			return false, fmt.Errorf("%w: acknowledgement %d of %d remote messages sent", ErrCorrupt, a, p.acks)
		}
		return a >= id, nil
	}
	if ok, err := acked(); err != nil || ok {
		return err
	}
	return p.wait(acked, p.r.ctlU32(offProdSleep), p.r.ctlU32(offProdFutex))
}

// Consumer states.
const (
	idle   = iota // between messages
	body          // reading a message's payload from the ring
	remote        // reading a message's payload from the sender's memory
)

// consumer reads one ring. Everything it takes from shared memory (the
// word, the total, the remote descriptor) is copied into its private
// fields once and checked before use; the payload bytes are only copied.
type consumer struct {
	r     ringView
	head  uint64 // next position to read
	seq   uint32 // sequence number of the next record
	limit uint64 // longest message accepted
	wait  waitFunc
	wake  wakeFunc
	// readRemote copies len(dst) bytes from the peer's address addr.
	readRemote  func(dst []byte, addr uint64) error
	allowRemote bool // this side announced that it reads remote payloads

	err error // sticky: the ring is corrupt, or the channel failed

	// the message in progress
	state   int
	hdr     [HeaderSize]byte
	total   uint64 // its length
	left    uint64 // bytes of it not yet read
	recOff  uint64 // offset of the current record's unread payload
	recLeft uint64 // unread payload bytes in the current record
	recSize uint64 // the current record's size
	addr    uint64 // remote: the sender's buffer
	id      uint64 // remote: its id
	lastID  uint64 // id of the last remote message seen
}

func (c *consumer) fail(err error) error {
	if c.err == nil {
		c.err = err
	}
	return c.err
}

func (c *consumer) corrupt(format string, args ...any) error {
	return c.fail(fmt.Errorf("%w: at position %d: %s", ErrCorrupt, c.head, fmt.Sprintf(format, args...)))
}

// advance frees the record of size bytes at head.
func (c *consumer) advance(size uint64) {
	c.head += size
	c.seq++
	atomic.StoreUint64(c.r.ctlU64(offHead), c.head)
	if atomic.LoadUint32(c.r.ctlU32(offProdSleep)) != 0 {
		c.wake(c.r.ctlU32(offProdFutex))
	}
}

// peek looks at the record at head, skipping a wrap record. ok is false
// when no record is there yet. The record is checked against the ring's
// bounds: it lies wholly inside the data area.
func (c *consumer) peek() (kind uint32, n, size uint64, ok bool, err error) {
	for {
		off := c.head & c.r.mask
		w := atomic.LoadUint64(c.r.dataU64(off))
		if w == 0 {
			return 0, 0, 0, false, nil
		}
		n = w & 0xFFFFFFFF
		kind = uint32(w>>32) & 0xFF
		if seq := uint32(w >> 40); seq != c.seq&seqMask {
			return 0, 0, 0, false, c.corrupt("record sequence %d, want %d", seq, c.seq&seqMask)
		}
		var fixed uint64
		switch kind {
		case kindWrap:
			if n != 0 || off == 0 {
				return 0, 0, 0, false, c.corrupt("wrap record at offset %d with length %d", off, n)
			}
			c.advance(c.r.size - off)
			continue
		case kindMsg:
			fixed = fixedMsg
		case kindChunk:
			fixed = fixedChunk
		case kindCMA:
			if n != 0 {
				return 0, 0, 0, false, c.corrupt("remote descriptor with length %d", n)
			}
			fixed = fixedCMA
		default:
			return 0, 0, 0, false, c.corrupt("record kind %d", kind)
		}
		if n > c.r.maxChunk {
			return 0, 0, 0, false, c.corrupt("record length %d over the chunk size %d", n, c.r.maxChunk)
		}
		size = recSize(fixed, n)
		if off+size > c.r.size {
			return 0, 0, 0, false, c.corrupt("record of %d bytes at offset %d crosses the end (%d)", size, off, c.r.size)
		}
		return kind, n, size, true, nil
	}
}

// next starts the next message if its first record is there. It reports
// false when there is none yet. The previous message must be finished.
func (c *consumer) next() (bool, error) {
	if c.err != nil {
		return false, c.err
	}
	kind, n, size, ok, err := c.peek()
	if !ok {
		return false, err
	}
	off := c.head & c.r.mask
	switch kind {
	case kindChunk:
		return false, c.corrupt("a continuation record (%d bytes) outside a message", n)
	case kindMsg:
		copy(c.hdr[:], c.r.bytes(off+8, HeaderSize))
		total := atomic.LoadUint64(c.r.dataU64(off + 8 + HeaderSize))
		if total < n || total > c.limit || (n == 0) != (total == 0) {
			return false, c.corrupt("message of %d bytes (limit %d) with a first record of %d", total, c.limit, n)
		}
		c.total, c.left = total, total
		c.recOff, c.recLeft, c.recSize = off+fixedMsg, n, size
		c.state = body
		if total == 0 {
			c.advance(size)
			c.state = idle
		}
	case kindCMA:
		copy(c.hdr[:], c.r.bytes(off+8, HeaderSize))
		total := atomic.LoadUint64(c.r.dataU64(off + 8 + HeaderSize))
		addr := atomic.LoadUint64(c.r.dataU64(off + 16 + HeaderSize))
		id := atomic.LoadUint64(c.r.dataU64(off + 24 + HeaderSize))
		if !c.allowRemote {
			return false, c.corrupt("a remote descriptor, but this side does not read the peer's memory")
		}
		if total > c.limit || id != c.lastID+1 {
			return false, c.corrupt("remote message of %d bytes (limit %d) with id %d after %d", total, c.limit, id, c.lastID)
		}
		if addr+total < addr {
			return false, c.corrupt("remote message of %d bytes at %#x", total, addr)
		}
		c.advance(size)
		c.lastID = id
		c.total, c.left, c.addr, c.id = total, total, addr, id
		c.state = remote
		if total == 0 {
			c.finishRemote()
		}
	}
	return true, nil
}

func (c *consumer) finishRemote() {
	c.state = idle
	atomic.StoreUint64(c.r.ctlU64(offAck), c.id)
	if atomic.LoadUint32(c.r.ctlU32(offProdSleep)) != 0 {
		c.wake(c.r.ctlU32(offProdFutex))
	}
}

// nextChunk moves on to the next record of the message in progress,
// waiting for it when block is set.
func (c *consumer) nextChunk(block bool) error {
	for {
		kind, n, size, ok, err := c.peek()
		if err != nil {
			return err
		}
		if ok {
			if kind != kindChunk || n == 0 || n > c.left {
				return c.corrupt("record kind %d of %d bytes inside a message with %d bytes left", kind, n, c.left)
			}
			c.recOff, c.recLeft, c.recSize = c.head&c.r.mask+fixedChunk, n, size
			return nil
		}
		if !block {
			return errWouldBlock
		}
		err = c.wait(func() (bool, error) {
			_, _, _, ok, err := c.peek()
			return ok, err
		}, c.r.ctlU32(offConsSleep), c.r.ctlU32(offConsFutex))
		if err != nil {
			return c.fail(err)
		}
	}
}

// read copies the message's next bytes into p (or skips them when
// discard is set). It waits for a chunk only when it has read nothing yet.
func (c *consumer) read(p []byte, discard bool) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	done := 0
	switch c.state {
	case body:
		for c.left > 0 && (discard || done < len(p)) {
			if c.recLeft == 0 {
				if err := c.nextChunk(done == 0 || discard); err != nil {
					if err == errWouldBlock && done > 0 {
						return done, nil
					}
					return done, err
				}
			}
			k := c.recLeft
			if !discard {
				k = min(k, uint64(len(p)-done))
				copy(p[done:done+int(k)], c.r.bytes(c.recOff, k))
				done += int(k)
			}
			c.recOff += k
			c.recLeft -= k
			c.left -= k
			if c.recLeft == 0 {
				c.advance(c.recSize)
			}
		}
		if c.left == 0 {
			c.state = idle
		}
	case remote:
		if discard {
			c.left = 0
		} else if k := min(c.left, uint64(len(p))); k > 0 {
			if err := c.readRemote(p[:k], c.addr+(c.total-c.left)); err != nil {
				return 0, c.fail(err)
			}
			c.left -= k
			done = int(k)
		}
		if c.left == 0 {
			c.finishRemote()
		}
	}
	return done, nil
}
