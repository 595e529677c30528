package shm

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Channel is one side of a shared-memory channel between two processes:
// a ring it writes (Send) and a ring it reads (Poll, Recv, and the
// Message they return).
//
// Concurrency: Send may be called from many goroutines (they are
// serialised). The receiving side (Poll, Recv and the methods of the
// Message they return) must be used by one goroutine at a time, as the
// engine's link serialises its reader. Close may be called from any
// goroutine at any time; it wakes every wait and returns once no call is
// inside the mapping. A goroutine blocked in Send never keeps the
// receiving side from making progress, but the receiving side must be
// served while a Send waits: two processes that both only send can fill
// both rings and wait for each other (as over TCP).
type Channel struct {
	mem     []byte
	creator bool
	opts    Options
	peer    peerWatch
	probe   *[TokenSize]byte // this side's; the peer reads it to test process_vm_readv
	cma     bool             // the receiver may read the peer's memory

	mine, theirs *uint32 // the closed flags in the segment header
	theirReads   *uint32 // the peer's flag: it reads this process's memory

	smu     sync.Mutex
	tx      producer
	sendCtx context.Context
	noWait  bool // TrySend: a wait for ring space fails with errWouldBlock (under smu)

	rmu     sync.Mutex
	rx      consumer
	recvCtx context.Context
	msg     Message
	open    bool // msg is in progress

	// wmu is held by WaitReady while it touches the mapping without rmu;
	// Close takes it before unmapping.
	wmu sync.Mutex
	// hmu is held by HideReader and ShowReader while they touch the
	// mapping; Close takes it before unmapping.
	hmu sync.Mutex

	closed atomic.Bool
}

func newChannel(mem []byte, creator bool, peerPid int, peerProbe uint64, probe *[TokenSize]byte, opts Options) *Channel {
	opts = opts.withDefaults()
	ring := *u64at(mem, hRingSize)
	chunk := *u64at(mem, hChunk)
	view := func(i uint64) ringView {
		base := segHeaderSize + i*(ctlSize+ring)
		return ringView{
			ctl:      unsafe.Pointer(&mem[base]),
			data:     unsafe.Pointer(&mem[base+ctlSize]),
			size:     ring,
			mask:     ring - 1,
			maxChunk: chunk,
		}
	}
	c := &Channel{mem: mem, creator: creator, opts: opts, peer: watchPeer(peerPid), probe: probe}
	out, in := uint64(0), uint64(1) // ring 0 carries creator → opener
	c.mine, c.theirs = u32at(mem, hCreatorClosed), u32at(mem, hOpenerClosed)
	myReads, theirReads := u32at(mem, hCreatorReads), u32at(mem, hOpenerReads)
	if !creator {
		out, in = in, out
		c.mine, c.theirs = c.theirs, c.mine
		myReads, theirReads = theirReads, myReads
	}
	c.theirReads = theirReads
	c.tx = producer{r: view(out), wait: c.waitSend, wake: wake, seq: 1}
	c.rx = consumer{r: view(in), wait: c.waitRecv, wake: wake, seq: 1, limit: uint64(opts.MaxMessage), readRemote: c.readRemote}
	c.msg.c = c
	c.sendCtx, c.recvCtx = context.Background(), context.Background()
	if !opts.NoCMA && peerProbe != 0 {
		var got [TokenSize]byte
		if readPeer(peerPid, got[:], peerProbe) == nil && got == *probe {
			c.cma = true
		}
	}
	c.rx.allowRemote = c.cma
	if c.cma {
		atomic.StoreUint32(myReads, 1)
	}
	return c
}

func wake(futex *uint32) {
	atomic.AddUint32(futex, 1)
	futexWake(futex)
}

// CMA reports whether this side reads the peer's large payloads straight
// from its memory (process_vm_readv works towards the peer, and NoCMA is
// not set). It is probed once, when the channel is made.
func (c *Channel) CMA() bool { return c.cma }

// PeerPID returns the peer's process id.
func (c *Channel) PeerPID() int { return c.peer.pid }

func (c *Channel) readRemote(dst []byte, addr uint64) error {
	return readPeer(c.peer.pid, dst, addr)
}

// Check reports whether the peer is still there: nil, ErrPeerDead when
// its process has exited, ErrPeerClosed when it closed its side, or
// ErrClosed. It makes one system call and never blocks; the engine calls
// it from its own timer if it wants death noticed faster than a wait's
// CheckEvery.
func (c *Channel) Check() error {
	if c.closed.Load() {
		return ErrClosed
	}
	if atomic.LoadUint32(c.theirs) != 0 {
		return ErrPeerClosed
	}
	if c.peer.exited() {
		return fmt.Errorf("%w (pid %d)", ErrPeerDead, c.peer.pid)
	}
	return nil
}

func (c *Channel) waitSend(ready func() (bool, error), sleep, futex *uint32) error {
	if c.noWait {
		return errWouldBlock
	}
	return c.wait(c.sendCtx, ready, sleep, futex)
}

func (c *Channel) waitRecv(ready func() (bool, error), sleep, futex *uint32) error {
	if c.recvCtx == nil {
		return errWouldBlock
	}
	return c.wait(c.recvCtx, ready, sleep, futex)
}

// wait polls ready for opts.Spin (yielding the CPU between polls with
// opts.Yield), then sleeps on *futex, announcing it in *sleep first so
// that the other side wakes it. Each sleep lasts CheckEvery at most; after
// one, the wait checks ctx, this side's Close, and the peer (closed, or
// its process gone). ready is always asked first, so whatever the peer
// wrote before it died or closed is still received.
func (c *Channel) wait(ctx context.Context, ready func() (bool, error), sleep, futex *uint32) error {
	return c.waitSpin(ctx, c.opts.Spin, 1, ready, sleep, futex)
}

// waitSpin is wait with a spin of its own (negative: sleep at once). The
// sleep flag counts the goroutines of this side that sleep on it (a
// WaitReady and a Read's wait for its next chunk may overlap), so one that
// wakes cannot clear another's announcement.
func (c *Channel) waitSpin(ctx context.Context, spin time.Duration, weight uint32, ready func() (bool, error), sleep, futex *uint32) error {
	if ok, err := ready(); ok || err != nil {
		return err
	}
	if spin > 0 {
		start := time.Now()
		for i := 1; ; i++ {
			if ok, err := ready(); ok || err != nil {
				return err
			}
			// Yield the thread to other processes when asked. The
			// goroutine is not made to yield its P: with the thread
			// locked (a pinned rank), runtime.Gosched hands the P to
			// another thread and back, microseconds each time.
			if c.opts.Yield {
				osYield()
			}
			if i%16 == 0 {
				if c.closed.Load() {
					return ErrClosed
				}
				if time.Since(start) > spin {
					break
				}
			}
		}
	}
	dl, hasDL := ctx.Deadline()
	for {
		v := atomic.LoadUint32(futex)
		atomic.AddUint32(sleep, weight)
		ok, err := ready()
		if ok || err != nil {
			atomic.AddUint32(sleep, -weight)
			return err
		}
		if err := c.Check(); err != nil {
			atomic.AddUint32(sleep, -weight)
			if ok, rerr := ready(); ok || rerr != nil {
				return rerr
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			atomic.AddUint32(sleep, -weight)
			return fmt.Errorf("shm: wait: %w", err)
		}
		d := c.opts.CheckEvery
		if hasDL {
			d = min(d, time.Until(dl)+time.Microsecond)
		}
		futexWait(futex, v, d)
		atomic.AddUint32(sleep, -weight)
	}
}

// enter takes mu and fails if the channel is closed.
func (c *Channel) enter(mu *sync.Mutex) error {
	mu.Lock()
	if c.closed.Load() {
		mu.Unlock()
		return ErrClosed
	}
	return nil
}

// Send writes one message: hdr, then payload. It returns once the
// payload has been copied into the ring or, for a payload of CMAMin bytes
// or more when the peer reads this process's memory, once the peer has
// copied it out (so payload may be reused as soon as Send returns). It
// waits for ring space as needed, until ctx ends (the error wraps ctx's),
// the peer is lost (ErrPeerDead, ErrPeerClosed), the ring is found
// corrupt (ErrCorrupt: every later Send fails too) or Close (ErrClosed).
// A payload over the peer's MaxMessage is refused by the peer as corrupt:
// keep messages within the limit both sides agreed.
func (c *Channel) Send(ctx context.Context, hdr *[HeaderSize]byte, payload []byte) error {
	if err := c.enter(&c.smu); err != nil {
		return err
	}
	defer c.smu.Unlock()
	if atomic.LoadUint32(c.theirs) != 0 {
		return ErrPeerClosed
	}
	c.sendCtx = ctx
	var err error
	if len(payload) >= c.opts.CMAMin && c.peerReadsMe() {
		err = c.tx.sendRemote(hdr, payload)
		runtime.KeepAlive(payload)
	} else {
		err = c.tx.sendMsg(hdr, payload)
	}
	c.sendCtx = context.Background()
	if err != nil && !c.closed.Load() && err != ErrClosed {
		c.tx.wait = failedWait(err)
	}
	return err
}

// TrySend writes a message of at most one chunk (Options.Chunk; control
// frames carry no payload) if it can without waiting: when no other Send
// holds the sending side and the ring has room. It reports whether it
// wrote the message; false with a nil error means nothing was written
// (try again later, or Send). Errors are Send's; a longer payload is an
// error wrapping ErrInvalidArgument.
func (c *Channel) TrySend(hdr *[HeaderSize]byte, payload []byte) (bool, error) {
	if uint64(len(payload)) > c.tx.r.maxChunk {
		return false, fmt.Errorf("%w: TrySend of %d bytes, over the chunk size %d", ErrInvalidArgument, len(payload), c.tx.r.maxChunk)
	}
	if !c.smu.TryLock() {
		return false, nil
	}
	defer c.smu.Unlock()
	if c.closed.Load() {
		return false, ErrClosed
	}
	if atomic.LoadUint32(c.theirs) != 0 {
		return false, ErrPeerClosed
	}
	// A message of one record is written whole or not at all (a wrap
	// record published before a failed reservation is harmless: the
	// consumer skips it).
	c.noWait = true
	err := c.tx.sendMsg(hdr, payload)
	c.noWait = false
	if err == errWouldBlock {
		return false, nil
	}
	if err != nil {
		if !c.closed.Load() && err != ErrClosed {
			c.tx.wait = failedWait(err)
		}
		return false, err
	}
	return true, nil
}

// WaitReady sleeps until a message is ready to be received (Poll would
// return it), without taking it: for a goroutine that leaves the
// receiving to others while it sleeps. It sleeps on the futex at once (no
// polling), having announced it, so that the peer's next record wakes it;
// it returns nil then, or as soon as it finds the receiving side busy
// (another goroutine is in Poll, Recv or a Message's Read: the caller
// then serialises with it). It fails when ctx ends (the error wraps
// ctx's), the peer is lost (ErrPeerDead, ErrPeerClosed) or on Close. One
// goroutine at a time may call it; it may run while others use the
// receiving side.
func (c *Channel) WaitReady(ctx context.Context) error {
	if err := c.enter(&c.wmu); err != nil {
		return err
	}
	defer c.wmu.Unlock()
	return c.waitSpin(ctx, -1, readerSleep, c.peekReady, c.rx.r.ctlU32(offConsSleep), c.rx.r.ctlU32(offConsFutex))
}

// peekReady reports whether a message is ready to be received, or the
// receiving side is busy (then true too); the caller keeps the mapping.
func (c *Channel) peekReady() (bool, error) {
	if !c.rmu.TryLock() {
		return true, nil
	}
	defer c.rmu.Unlock()
	if c.open {
		return true, nil
	}
	if c.rx.err != nil {
		return false, c.rx.err
	}
	w := atomic.LoadUint64(c.rx.r.dataU64(c.rx.head & c.rx.r.mask))
	return w != 0, nil
}

// HideReader withdraws a WaitReady's sleep announcement, present or to
// come, from the peer: its records then wake nobody but other waits of
// this side, for goroutines of this process poll the channel. ShowReader
// undoes it; calls must pair, HideReader first, one pair at a time (the
// caller serialises them). Safe with any other call; a no-op after Close.
func (c *Channel) HideReader() {
	if c.enter(&c.hmu) != nil {
		return
	}
	defer c.hmu.Unlock()
	atomic.AddUint32(c.rx.r.ctlU32(offConsSleep), ^uint32(readerSleep-1))
}

// ShowReader restores what HideReader withdrew, then wakes a WaitReady
// if a message arrived meanwhile (or the receiving side is busy): the
// peer, which then saw no sleeper, did not. (The store of the
// announcement and the peer's of its record are both sequentially
// consistent: either the peer sees the announcement or this sees the
// record.)
func (c *Channel) ShowReader() {
	if c.enter(&c.hmu) != nil {
		return
	}
	defer c.hmu.Unlock()
	atomic.AddUint32(c.rx.r.ctlU32(offConsSleep), readerSleep)
	if ok, err := c.peekReady(); ok || err != nil {
		wake(c.rx.r.ctlU32(offConsFutex))
	}
}

// peerReadsMe reports whether the peer reads this process's memory: its
// probe at set-up succeeded and it announced so in the segment, and NoCMA
// is not set on this side either.
func (c *Channel) peerReadsMe() bool {
	return !c.opts.NoCMA && atomic.LoadUint32(c.theirReads) == 1
}

func failedWait(err error) waitFunc {
	return func(func() (bool, error), *uint32, *uint32) error { return err }
}

// Poll makes progress on the receiving side without blocking: it returns
// the next message if its first record has arrived, or nil. A message
// still open from an earlier call is discarded first (which may wait
// for the rest of its chunks). Errors: ErrCorrupt, ErrClosed, and, once
// the ring is empty, ErrPeerClosed when the peer closed its side (a dead
// peer is reported by Recv's waits and by Check).
func (c *Channel) Poll() (*Message, error) {
	if err := c.enter(&c.rmu); err != nil {
		return nil, err
	}
	defer c.rmu.Unlock()
	if err := c.finishOpen(); err != nil {
		return nil, err
	}
	ok, err := c.rx.next()
	if err != nil {
		return nil, err
	}
	if !ok {
		if atomic.LoadUint32(c.theirs) != 0 {
			if ok, err = c.rx.next(); !ok && err == nil {
				return nil, ErrPeerClosed
			}
			if err != nil {
				return nil, err
			}
		} else {
			return nil, nil
		}
	}
	c.open = c.rx.state != idle
	return &c.msg, nil
}

// Recv waits for the next message, as Poll does, until ctx ends (the
// error wraps ctx's), the peer is lost (ErrPeerDead, ErrPeerClosed), the
// ring is corrupt, or Close.
func (c *Channel) Recv(ctx context.Context) (*Message, error) {
	if err := c.enter(&c.rmu); err != nil {
		return nil, err
	}
	defer c.rmu.Unlock()
	if err := c.finishOpen(); err != nil {
		return nil, err
	}
	var ok bool
	err := c.wait(ctx, func() (bool, error) {
		var err error
		ok, err = c.rx.next()
		return ok, err
	}, c.rx.r.ctlU32(offConsSleep), c.rx.r.ctlU32(offConsFutex))
	if err != nil {
		return nil, err
	}
	c.open = c.rx.state != idle
	return &c.msg, nil
}

func (c *Channel) finishOpen() error {
	if !c.open {
		return nil
	}
	c.open = false
	_, err := c.rx.read(nil, true)
	return err
}

// Message is a received message: its header, its length, and a reader of
// its payload. It is valid until the next Poll or Recv on its channel;
// the caller reads the payload (Read) or skips it (Discard) before then.
// Use it from the goroutine that received it.
type Message struct {
	c *Channel
}

// Header returns the message's header.
func (m *Message) Header() [HeaderSize]byte { return m.c.rx.hdr }

// Len returns the payload's length.
func (m *Message) Len() int64 { return int64(m.c.rx.total) }

// Remaining returns the payload bytes not yet read.
func (m *Message) Remaining() int64 {
	if !m.c.open {
		return 0
	}
	return int64(m.c.rx.left)
}

// Remote reports whether the payload is read from the sender's memory
// (process_vm_readv) rather than from the ring.
func (m *Message) Remote() bool { return m.c.rx.state == remote }

// Read copies the payload's next bytes into p, io.Reader style: io.EOF
// once it is all read. It waits for the next chunk when it has copied
// nothing yet, until the peer is lost or the channel is closed; a peer
// that dies in the middle of a message is ErrPeerDead.
func (m *Message) Read(p []byte) (int, error) {
	c := m.c
	if err := c.enter(&c.rmu); err != nil {
		return 0, err
	}
	defer c.rmu.Unlock()
	if !c.open {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	n, err := c.rx.read(p, false)
	if c.rx.state == idle {
		c.open = false
	}
	if err == nil && n == 0 && !c.open {
		err = io.EOF
	}
	return n, err
}

// Discard skips the rest of the payload (waiting for its chunks, which
// it does not copy; a remote payload is not read at all).
func (m *Message) Discard() error {
	c := m.c
	if err := c.enter(&c.rmu); err != nil {
		return err
	}
	defer c.rmu.Unlock()
	return c.finishOpen()
}

// Close closes this side: it marks it closed in the segment, wakes every
// wait on both sides (the peer's receives get ErrPeerClosed once they
// have taken what was sent), waits until no call of this side is inside
// the mapping, and unmaps it (the memory is freed when the peer unmaps
// too, or exits). Idempotent; safe from any goroutine.
func (c *Channel) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return nil
	}
	atomic.StoreUint32(c.mine, 1)
	for _, r := range []*ringView{&c.tx.r, &c.rx.r} {
		wake(r.ctlU32(offConsFutex))
		wake(r.ctlU32(offProdFutex))
	}
	c.smu.Lock()
	c.rmu.Lock()
	c.wmu.Lock()
	c.hmu.Lock()
	unmapFile(c.mem)
	c.mem = nil
	c.peer.close()
	c.hmu.Unlock()
	c.wmu.Unlock()
	c.rmu.Unlock()
	c.smu.Unlock()
	return nil
}
