package comm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorun-hpc/gorun/comm/internal/shm"
	"github.com/gorun-hpc/gorun/comm/internal/wire"
	"github.com/gorun-hpc/gorun/comm/rendezvous"
)

// shmTransport links the ranks of one host by shared memory
// (comm/internal/shm). Each rank publishes host/<rank> = "<transport>
// <host identity>" (Config.Transport, and the boot id and host name, or
// Options.Host); a pair whose identities match, neither of which says
// "tcp", uses shared memory. The pair first connects and authenticates over
// TCP as every pair does; then the lower rank makes the segment and sends
// its 40-byte handle on that connection (one length byte, 0 or 40, then
// the handle), and the higher rank opens it and answers one status byte
// (0: opened, 1: failed, the pair stays on TCP). The TCP connection stays
// open, idle, for the life of the link: it is the pair's liveness signal
// (see shmLink.watchConn).
type shmTransport struct {
	e     *engine
	store rendezvous.Store
	mode  string // Config.Transport
	host  string // this rank's host identity
	opts  shm.Options
}

func newShmTransport(e *engine, o Options) *shmTransport {
	t := &shmTransport{e: e, store: o.Store, mode: e.cfg.Transport, host: o.Host}
	if !ShmAvailable && t.mode != TransportShm {
		// No shared memory in this build: say tcp, so that no peer
		// offers it (Config.Validate refuses a forced shm).
		t.mode = TransportTCP
	}
	if t.host == "" {
		t.host = hostIdentity()
	}
	// A wait inside the channel (for ring space, for the next chunk of a
	// message, for a single-copy acknowledgement) polls without giving up
	// its P: it polls briefly whatever Config.Spin, then sleeps on the
	// futex, so that the rank's other goroutines (and, in one process, the
	// other ranks) get the P.
	spin := min(e.cfg.Spin, shmSpin)
	t.opts = shm.Options{
		RingSize: e.cfg.Shm.RingSize,
		Dir:      e.cfg.Shm.Dir,
		Spin:     spin,
		Yield:    e.osYield,
		NoCMA:    e.cfg.Shm.CMA == Off,
		// A sleeping wait need not wake often to check on the peer: the
		// pair's TCP connection reports its death, and the link then
		// closes the channel, which wakes every wait. (At the package's
		// 10 ms, 8 ranks blocked in a receive over shared memory used 16 %
		// of a CPU between them; over TCP 2 %.)
		CheckEvery: shmCheckEvery,
	}
	return t
}

// shmCheckEvery bounds one futex sleep of a shared-memory wait.
const shmCheckEvery = 250 * time.Millisecond

// shmSpin bounds the polling of a wait inside a shared-memory channel.
const shmSpin = 50 * time.Microsecond

// testHookReaderSleep, if set (tests), is called by a shared-memory
// link's reader of world rank rank, linked to peer, just before it sleeps
// on its channel; handled reports whether it processed frames since its
// last sleep.
var testHookReaderSleep func(rank, peer int, handled bool)

// logFallback logs, in the words of format, why a pair falls back to TCP;
// under a forced shm transport it logs nothing, since the start-up then
// fails with the error instead.
func (t *shmTransport) logFallback(format string, args ...any) {
	if t.mode != TransportShm {
		t.e.logf("gorun: rank %d: "+format+"; the pair uses TCP", append([]any{t.e.rank}, args...)...)
	}
}

// hostIdentity names this host for choosing transports: its boot id (a
// fresh random id per boot, shared by every container and network
// namespace of one kernel) and its host name (which tells namespaces with
// hosts of their own apart).
func hostIdentity() string {
	boot, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	name, _ := os.Hostname()
	return strings.TrimSpace(string(boot)) + "/" + name
}

func (t *shmTransport) name() string { return TransportShm }

func (t *shmTransport) publish(ctx context.Context) error {
	if err := t.store.Set(ctx, hostKey(t.e.rank), []byte(t.mode+" "+t.host)); err != nil { // see parseHostEntry
		return fmt.Errorf("publishing host: %w", err)
	}
	return nil
}

// serves reads the peer's entry: shared memory when both allow it and
// share the host; an error when either forces it and they do not, or one
// forces shm and the other tcp.
func (t *shmTransport) serves(ctx context.Context, peer int) (bool, error) {
	v, err := t.store.Get(ctx, hostKey(peer))
	if err != nil {
		return false, fmt.Errorf("reading rank %d's host: %w", peer, err)
	}
	mode, host, err := parseHostEntry(v)
	if err != nil {
		return false, fmt.Errorf("rank %d: %w", peer, err)
	}
	forced := t.mode == TransportShm || mode == TransportShm
	switch {
	case t.mode == TransportTCP || mode == TransportTCP:
		if forced {
			return false, fmt.Errorf("transport shm is forced on one of ranks %d and %d and tcp on the other", t.e.rank, peer)
		}
		return false, nil
	case host != t.host:
		if forced {
			return false, fmt.Errorf("transport shm is forced, but rank %d is on host %q and rank %d on %q", t.e.rank, t.host, peer, host)
		}
		return false, nil
	}
	return true, nil
}

// parseHostEntry decodes a host/<rank> value: "<transport> <identity>",
// the transport one of auto, shm, tcp and the identity non-empty. Anything
// else is an error wrapping ErrProtocol.
func parseHostEntry(v []byte) (mode, host string, err error) {
	mode, host, ok := strings.Cut(string(v), " ")
	switch {
	case !ok || host == "":
		return "", "", fmt.Errorf("%w: host entry %q: want \"<transport> <host>\"", ErrProtocol, v)
	case mode != TransportAuto && mode != TransportShm && mode != TransportTCP:
		return "", "", fmt.Errorf("%w: host entry %q: unknown transport", ErrProtocol, v)
	}
	return mode, host, nil
}

// shmStatus answers: the opener mapped the segment, or did not.
const (
	shmOpened = 0
	shmFailed = 1
)

// setup makes the pair's segment (lower rank) or opens it (higher rank)
// over c, within c's handshake deadline. A segment that cannot be made
// or opened (a full tmpfs, no memfd, /proc refused) makes the pair fall
// back to TCP, with one log line, unless shm is forced.
func (t *shmTransport) setup(ctx context.Context, peer int, c *net.TCPConn, lower bool) error {
	e := t.e
	var ch *shm.Channel
	var err error
	if lower {
		ch, err = t.create(ctx, peer, c)
	} else {
		ch, err = t.open(peer, c)
	}
	if err != nil {
		if errors.Is(err, errFallback) && t.mode == TransportShm {
			return fmt.Errorf("transport shm is forced: %v", err) // not errFallback any more
		}
		return err
	}
	c.SetDeadline(time.Time{})
	l := newShmLink(e, peer, ch, c)
	if err := e.addLink(peer, l); err != nil {
		ch.Close()
		return err
	}
	l.start()
	return nil
}

func (t *shmTransport) create(ctx context.Context, peer int, c *net.TCPConn) (*shm.Channel, error) {
	seg, err := shm.Create(t.opts)
	if err != nil {
		t.logFallback("no shared memory for rank %d (%v)", peer, err)
		if _, werr := c.Write([]byte{0}); werr != nil {
			return nil, werr
		}
		return nil, fmt.Errorf("%w: %v", errFallback, err)
	}
	b, _ := seg.Handle().AppendBinary([]byte{shm.HandleSize})
	var status [1]byte
	if _, err = c.Write(b); err == nil {
		_, err = io.ReadFull(c, status[:])
	}
	if err != nil {
		seg.Close()
		return nil, fmt.Errorf("sending the segment's handle: %w", err)
	}
	if status[0] != shmOpened {
		seg.Close()
		return nil, fmt.Errorf("%w: rank %d could not open the segment", errFallback, peer)
	}
	return seg.Accept(ctx, t.opts)
}

func (t *shmTransport) open(peer int, c *net.TCPConn) (*shm.Channel, error) {
	var n [1]byte
	if _, err := io.ReadFull(c, n[:]); err != nil {
		return nil, fmt.Errorf("reading the segment's handle: %w", err)
	}
	switch n[0] {
	case 0:
		return nil, fmt.Errorf("%w: rank %d made no segment", errFallback, peer)
	case shm.HandleSize:
	default:
		return nil, fmt.Errorf("%w: segment handle of %d bytes", ErrProtocol, n[0])
	}
	b := make([]byte, shm.HandleSize)
	if _, err := io.ReadFull(c, b); err != nil {
		return nil, fmt.Errorf("reading the segment's handle: %w", err)
	}
	h, err := shm.ParseHandle(b)
	var ch *shm.Channel
	if err == nil {
		ch, err = shm.Open(h, t.opts)
	}
	if err != nil {
		t.logFallback("cannot open rank %d's shared memory (%v)", peer, err)
		if _, werr := c.Write([]byte{shmFailed}); werr != nil {
			return nil, werr
		}
		return nil, fmt.Errorf("%w: %v", errFallback, err)
	}
	if _, err := c.Write([]byte{shmOpened}); err != nil {
		ch.Close()
		return nil, err
	}
	return ch, nil
}

func (t *shmTransport) close() {}

// shmFrameLimits are the decoding limits of frames over shared memory: a
// rendezvous payload goes as one Data frame of the message's length.
var shmFrameLimits = wire.Limits{MaxEager: frameLimits.MaxEager, MaxChunk: 1 << 40}

// shmLink is a link over a shared-memory channel, with the pair's idle
// TCP connection kept as its liveness signal.
//
// Goroutines: the reader (readLoop) processes frames under rxMu and, when
// nobody polls, sleeps on the channel's futex without holding rxMu; while
// goroutines of the rank poll (wait.go: pollers), it parks and leaves the
// link to them, so a message costs its sender no wake-up. watchConn waits
// on the TCP connection: its end (the peer exited, SIGKILL included, or
// closed) makes it take what the ring still holds and end the link.
// Control frames are written by sendControl at once when the ring has
// room, else by a drainer goroutine, in order.
type shmLink struct {
	e    *engine
	peer int
	ch   *shm.Channel
	conn *net.TCPConn

	rxMu  sync.Mutex
	hb    [wire.HeaderSize]byte
	h     wire.Header // the frame being processed (under rxMu)
	rxErr error       // reading has ended (under rxMu)
	ended atomic.Bool // rxErr is set

	// Control frames, under cmu (see tcpLink's, which this mirrors).
	controlQueue
	cfb     [wire.HeaderSize]byte
	writers sync.WaitGroup

	closeOnce sync.Once
	closed    chan struct{} // closed by close
	done      chan struct{} // closed when readLoop returns
	watchDone chan struct{} // closed when watchConn returns
}

func newShmLink(e *engine, peer int, ch *shm.Channel, c *net.TCPConn) *shmLink {
	return &shmLink{e: e, peer: peer, ch: ch, conn: c,
		closed: make(chan struct{}), done: make(chan struct{}), watchDone: make(chan struct{})}
}

func (l *shmLink) start() {
	go l.readLoop()
	go l.watchConn()
}

// passive: the reader leaves the link to polling waiters (see wait.go).
func (l *shmLink) passive() bool { return true }

// dataChunk: a rendezvous payload goes as one Data frame; the ring
// pipelines it, or the receiver copies it once.
func (l *shmLink) dataChunk() int { return 1 << 40 }

func (l *shmLink) send(h wire.Header, payload []byte) error {
	var hb [wire.HeaderSize]byte
	h.Encode(hb[:])
	return shmError(l.ch.Send(context.Background(), &hb, payload))
}

// shmError words a channel's error for the engine (which wraps a lost
// peer's in ErrPeerLost).
func shmError(err error) error {
	if errors.Is(err, shm.ErrCorrupt) {
		return fmt.Errorf("%w: %v", ErrProtocol, err)
	}
	return err
}

// sendControl queues a control frame and never waits (see link): it is
// written at once when no Send holds the ring and the ring has room, or
// else by a drainer goroutine. After a Bye, control frames are dropped.
func (l *shmLink) sendControl(h wire.Header) {
	l.cmu.Lock()
	defer l.cmu.Unlock()
	if l.ctlShut {
		return
	}
	if h.Type == wire.Bye {
		l.ctlShut = true
	}
	if !l.ctlBusy {
		h.Encode(l.cfb[:])
		ok, err := l.ch.TrySend(&l.cfb, nil)
		if ok {
			return
		}
		if err != nil {
			if l.ctlErr == nil {
				l.ctlErr = shmError(err)
			}
			go l.fail(l.ctlErr)
			return
		}
	}
	l.ctl = append(l.ctl, h)
	if !l.ctlBusy {
		l.ctlBusy = true
		l.writers.Add(1)
		go l.drainControl()
	}
}

func (l *shmLink) drainControl() {
	defer l.writers.Done()
	var hb [wire.HeaderSize]byte
	var err error
	for {
		l.cmu.Lock()
		if len(l.ctl) == 0 || err != nil {
			break
		}
		h := l.ctl[0]
		l.ctl = l.ctl[1:]
		l.cmu.Unlock()
		h.Encode(hb[:])
		err = shmError(l.ch.Send(context.Background(), &hb, nil))
	}
	l.endDrain(err) // cmu is held
	if err != nil {
		l.fail(err)
	}
}

// fail ends the link after a failed write.
func (l *shmLink) fail(err error) {
	l.e.linkDown(l.peer, err)
	l.close()
}

func (l *shmLink) poll() bool {
	if l.ended.Load() || !l.rxMu.TryLock() {
		return false
	}
	p := l.pollLocked()
	l.rxMu.Unlock()
	return p
}

// pollLocked processes the messages that have arrived (a message begun is
// read to its end, waiting for its chunks) and reports whether it
// processed any. Caller holds rxMu.
func (l *shmLink) pollLocked() bool {
	progressed := false
	for l.rxErr == nil {
		m, err := l.ch.Poll()
		if err != nil {
			l.endLocked(err)
			return true
		}
		if m == nil {
			return progressed
		}
		progressed = true
		if err := l.frameLocked(m); err != nil {
			l.endLocked(err)
		}
	}
	return progressed
}

func (l *shmLink) frameLocked(m *shm.Message) error {
	l.hb = m.Header()
	var err error
	if l.h, err = wire.Decode(l.hb[:], shmFrameLimits); err != nil {
		return err
	}
	var want int64 // the payload the frame announces
	if l.h.Type == wire.Eager || l.h.Type == wire.Data {
		want = int64(l.h.Len)
	}
	if want != m.Len() {
		return fmt.Errorf("%w: %v frame with a payload of %d bytes in a message of %d", ErrProtocol, l.h.Type, want, m.Len())
	}
	return shmError(l.e.handleFrame(l.peer, &l.h, m))
}

// endLocked ends reading: normal after a Bye; any other error means the
// peer is lost (or misbehaved, which is logged). Caller holds rxMu.
func (l *shmLink) endLocked(err error) {
	if l.rxErr != nil {
		return
	}
	l.rxErr = err
	l.ended.Store(true)
	if errors.Is(err, errBye) {
		return
	}
	if errors.Is(err, wire.ErrMalformed) || errors.Is(err, ErrProtocol) {
		l.e.logf("gorun: rank %d: closing shared-memory link to rank %d: %v", l.e.rank, l.peer, err)
	}
	l.fail(err)
}

// readLoop is the link's reader: it processes what has arrived, then,
// when goroutines of the rank poll (they poll this link too), parks until
// they stop, and otherwise sleeps until the peer writes.
//
// It yields its P (runtime.Gosched) after processing frames and again
// before it sleeps, so that a goroutine whose request it has just
// completed runs at once, without waiting for the P to be handed over.
// The sleep hands the P back to the scheduler (shm's futexWait): the
// rank's other goroutines, the other links' readers among them, run while
// this one sleeps, even with one P. After the yield it looks again for
// waiters that began to poll meanwhile and parks behind them rather than
// sleep, so that the peer's messages to them cost no wake-up.
func (l *shmLink) readLoop() {
	defer close(l.done)
	handled := false // frames processed since the last sleep
	for {
		l.rxMu.Lock()
		progressed := false
		if l.rxErr == nil {
			progressed = l.pollLocked()
		}
		ended := l.rxErr != nil
		l.rxMu.Unlock()
		if ended {
			return
		}
		if progressed {
			handled = true
			runtime.Gosched()
			continue
		}
		if l.e.awaitNoPollers(l.isClosed) {
			continue
		}
		runtime.Gosched()
		// The goroutines that ran meanwhile may have begun to poll (a
		// Wait): park behind them instead of sleeping, so that they take
		// the peer's messages without a wake-up.
		if l.e.awaitNoPollers(l.isClosed) {
			continue
		}
		if h := testHookReaderSleep; h != nil {
			h(l.e.rank, l.peer, handled)
		}
		handled = false
		if err := l.ch.WaitReady(context.Background()); err != nil {
			l.rxMu.Lock()
			if l.rxErr == nil {
				l.pollLocked() // what the peer wrote before it went
			}
			if l.rxErr == nil {
				l.endLocked(shmError(err))
			}
			l.rxMu.Unlock()
			return
		}
	}
}

// watchConn waits for the end of the pair's TCP connection, which carries
// nothing after set-up. When the peer's process ends (SIGKILL included)
// its kernel closes the connection at once: the link then takes what the
// ring still holds (a Bye, after an orderly Close) and ends.
func (l *shmLink) watchConn() {
	defer close(l.watchDone)
	var b [1]byte
	_, err := l.conn.Read(b[:])
	select {
	case <-l.closed:
		return
	default:
	}
	if err == nil {
		err = fmt.Errorf("%w: data on the shared-memory pair's TCP connection", ErrProtocol)
	} else {
		err = fmt.Errorf("connection closed: %w", err)
	}
	l.rxMu.Lock()
	if l.rxErr == nil {
		l.pollLocked()
	}
	if l.rxErr == nil {
		l.endLocked(err)
	}
	l.rxMu.Unlock()
}

// close closes the channel (waking every wait on it, on both sides) and
// the connection.
func (l *shmLink) close() error {
	l.closeOnce.Do(func() {
		close(l.closed)
		l.e.wakePollerWaits()
		l.ch.Close()
		l.conn.Close()
	})
	return nil
}

// hideReader and showReader hide the reader's sleep on the channel from
// the peer while the rank's waiters poll (see engine.beginPolling); they
// are called under engine.gateMu.
func (l *shmLink) hideReader() { l.ch.HideReader() }
func (l *shmLink) showReader() { l.ch.ShowReader() }

func (l *shmLink) isClosed() bool {
	select {
	case <-l.closed:
		return true
	default:
		return false
	}
}

func (l *shmLink) awaitClosed() {
	<-l.done
	<-l.watchDone
	l.writers.Wait()
}
