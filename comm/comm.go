package comm

import (
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorun-hpc/gorun/comm/internal/wire"
	"github.com/gorun-hpc/gorun/comm/rendezvous"
)

// Config tunes a communicator. The zero value works: every zero field takes
// its default. Ranks of one job may use different values; a receiver
// accepts frames up to fixed hard limits whatever its own settings.
type Config struct {
	// EagerLimit is the largest message sent eagerly (header and payload
	// at once, buffered by the receiver if no receive is posted). Larger
	// messages use rendezvous: the payload moves only once the receiver
	// has posted a receive, straight into its buffer. Default 64 KiB; at
	// most 16 MiB. Environment: GORUN_EAGER_LIMIT.
	EagerLimit int
	// EagerWindow bounds how far a sender may run ahead of one receiver
	// with eager messages: the payloads (plus 64 bytes each) it has sent
	// to that peer that the peer has not yet delivered to a receive. A
	// small message that would exceed it goes by rendezvous instead, so a
	// receiver never buffers more than this per peer, however far ahead a
	// sender runs (back-to-back broadcasts, a flood of Isends). As with
	// MPI's standard-mode send, a program that needs more buffering than
	// this (blocking sends to a rank that receives them only later) can
	// then block. Default 1 MiB; negative: no bound. Environment:
	// GORUN_EAGER_WINDOW.
	EagerWindow int
	// ChunkSize is the size of the data frames of a rendezvous transfer.
	// Default 1 MiB, or 512 KiB when the host runs more ranks than it has
	// CPUs; at most 64 MiB. Environment: GORUN_CHUNK_SIZE. Measured over
	// loopback TCP on a 2-core host (bench/coll, 13 alternating rounds,
	// medians, µs, 512 KiB/1 MiB): np 2 Bcast 1 MiB 138/128, 4 MiB
	// 507/488, Allreduce and Reduce within 2 %; np 4 Bcast 1 MiB 403/377;
	// np 8 Bcast 1 MiB 946/994, Allreduce 2431/2554, Reduce 1337/1427.
	ChunkSize int
	// Spin is how long a goroutine waiting for a message polls for it
	// before parking. Zero means automatic: 50µs, or 3ms with the
	// processor yielded between polls when the host runs more ranks than
	// it has CPUs (see Yield). Negative disables polling. Environment:
	// GORUN_SPIN (a Go duration).
	Spin time.Duration
	// Yield makes a polling rank give its CPU to other processes
	// (sched_yield(2)) between polls, so that on an oversubscribed host
	// the rank it waits for gets to run while this one keeps watching its
	// sockets: waking a sleeping process costs 20-35µs between the vCPUs
	// of a VM, a yield well under one. With Yield on, link readers park at
	// once and leave the polling to the waiting goroutines. Zero means
	// automatic: on when the host runs more ranks than it has CPUs.
	// Environment: GORUN_YIELD (1 or 0).
	Yield Toggle
	// PeekReads makes a link's reader leave what it reads queued in the
	// kernel (MSG_PEEK, with the socket's peek offset) and take it later,
	// with the first read after the rank has sent on the link, or
	// discard it once 4 KiB are queued or before the reader parks.
	// Taking a small message out of the kernel's queue makes the kernel
	// send a bare acknowledgement there and then, inside the read, if
	// two small messages arrived since the rank last sent on the link; a
	// rank that receives twice in a row (a Bcast right after a Barrier, a
	// tree's fan-out, a stream of messages) paid for it while the sender
	// waited. Left queued, the acknowledgement rides on the rank's next
	// send. Bulk data is read as usual: the reads after one that returned
	// 4 KiB or more, and the payload of a message of 4 KiB or more. It
	// applies to ranks whose links park outside the runtime's poller
	// (Yield off) and needs a kernel whose TCP sockets accept SO_PEEK_OFF
	// (recent ones do); elsewhere reads take the bytes. Zero means on.
	// Environment: GORUN_PEEK (1 or 0).
	PeekReads Toggle
	// Congestion is the TCP congestion control of the links between ranks
	// of one host (the peer's address is a loopback address or this end's
	// own). Default "reno", so that a job behaves alike whatever the
	// host's default, and the collectives' thresholds, measured with reno,
	// hold. A host default that paces (BBR) keeps a loopback link's window
	// to the bandwidth-delay product of a microsecond round trip and arms
	// a timer per paced segment; when the host runs more ranks than it has
	// CPUs, the ACKs that would open the window wait for a CPU too. On a
	// 2-core VM whose default is BBR, reno made oversubscribed 64 KiB
	// Bcast about 2x and 1 MiB Bcast 1.4-1.6x faster (bench/coll/README.md).
	// Sockets get it before they connect, so the default's pacing never
	// starts on them. "system" keeps the host's default; links to other
	// hosts always keep it. If the kernel refuses the setting, the link
	// keeps the host's default and one line is logged. Environment:
	// GORUN_TCP_CC.
	Congestion string
	// SocketBuffer, if positive, sets the send and receive buffer sizes
	// (SO_SNDBUF, SO_RCVBUF) of every link's socket, in bytes; the kernel
	// doubles the value and keeps it within its own limits. Zero leaves
	// the kernel's automatic sizing, which suits loopback and most
	// networks; small buffers model a busy or slow network.
	SocketBuffer int
	// HandshakeTimeout bounds each connection's authentication. Default 10s.
	HandshakeTimeout time.Duration
	// ConnectTimeout bounds start-up: publishing this rank's address and
	// connecting to every other rank. Default 2 minutes.
	ConnectTimeout time.Duration
	// LossGrace is how long a rank whose link to a peer dropped waits for
	// the launcher's abort notice (which names the rank that failed first)
	// before failing operations on that peer with ErrPeerLost. It applies
	// only with a launcher (Options.Watch). Default 2s.
	LossGrace time.Duration
	// Logf receives the communicator's log lines (refused connections,
	// malformed frames). Default: standard error.
	Logf func(format string, args ...any)
	// Check turns on full collective checking (package collectives): the
	// ranks agree on each collective call before it runs. Zero means
	// automatic: on when GORUN_CHECK=1 (gorun --check). Every rank of a
	// job must have the same setting.
	Check Toggle
}

// Toggle is a setting that is automatic (zero), on or off.
type Toggle int8

// Toggle values.
const (
	On  Toggle = 1
	Off Toggle = -1
)

// DefaultConfig returns the configuration the zero Config stands for, with
// the environment's overrides applied. localSize is the number of ranks on
// this host (for the polling decision; 0 if unknown).
func DefaultConfig(localSize int) Config {
	var c Config
	c.fill(localSize)
	return c
}

// oversubscribed reports whether this host runs more ranks than it has
// CPUs. gorun says so in GORUN_OVERSUBSCRIBED (a rank bound to one core
// cannot tell from runtime.NumCPU, which counts only its own CPUs).
func oversubscribed(localSize int) bool {
	switch os.Getenv("GORUN_OVERSUBSCRIBED") {
	case "1":
		return true
	case "0":
		return false
	}
	return localSize > runtime.NumCPU()
}

func (c *Config) fill(localSize int) {
	if c.EagerLimit == 0 {
		c.EagerLimit = 64 << 10
		if v, err := strconv.Atoi(os.Getenv("GORUN_EAGER_LIMIT")); err == nil && v > 0 {
			c.EagerLimit = v
		}
	}
	c.EagerLimit = min(c.EagerLimit, int(frameLimits.MaxEager))
	if c.EagerWindow == 0 {
		c.EagerWindow = 1 << 20
		if v, err := strconv.Atoi(os.Getenv("GORUN_EAGER_WINDOW")); err == nil && v != 0 {
			c.EagerWindow = v
		}
	}
	over := oversubscribed(localSize)
	if c.ChunkSize <= 0 {
		c.ChunkSize = 1 << 20
		if over {
			c.ChunkSize = 512 << 10
		}
		if v, err := strconv.Atoi(os.Getenv("GORUN_CHUNK_SIZE")); err == nil && v > 0 {
			c.ChunkSize = v
		}
	}
	c.ChunkSize = min(c.ChunkSize, int(frameLimits.MaxChunk))
	if c.Yield == 0 {
		c.Yield = Off
		if over {
			c.Yield = On
		}
		switch os.Getenv("GORUN_YIELD") {
		case "1":
			c.Yield = On
		case "0":
			c.Yield = Off
		}
	}
	if c.PeekReads == 0 {
		c.PeekReads = On
		if os.Getenv("GORUN_PEEK") == "0" {
			c.PeekReads = Off
		}
	}
	if c.Spin == 0 {
		c.Spin = 50 * time.Microsecond
		if over {
			c.Spin = 3 * time.Millisecond
		}
		if d, err := time.ParseDuration(os.Getenv("GORUN_SPIN")); err == nil {
			c.Spin = d
			if d == 0 {
				c.Spin = -1
			}
		}
	}
	if c.Congestion == "" {
		c.Congestion = "reno"
		if v := os.Getenv("GORUN_TCP_CC"); v != "" {
			c.Congestion = v
		}
	}
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = 10 * time.Second
	}
	if c.LossGrace <= 0 {
		c.LossGrace = 2 * time.Second
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 2 * time.Minute
	}
	c.fillCheck()
	if c.Logf == nil {
		c.Logf = func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	}
}

// Validate reports a configuration error, if any, wrapping
// ErrInvalidArgument.
func (c *Config) Validate() error {
	if c.EagerLimit < 0 || c.ChunkSize < 0 || c.SocketBuffer < 0 {
		return fmt.Errorf("%w: Config: negative EagerLimit, ChunkSize or SocketBuffer", ErrInvalidArgument)
	}
	return nil
}

func (e *engine) logf(format string, args ...any) { e.cfg.Logf(format, args...) }

// Comm is a communicator: a group of ranks and a context that keeps its
// messages apart from every other communicator's.
//
// A Comm may be used from many goroutines at once. Messages between one
// sender and one receiver that both match a receive are received in the
// order they were sent (MPI's non-overtaking rule); receives with the same
// source and tag match in the order they were posted. Collective calls on
// one Comm must be made in the same order by every rank, and not
// concurrently from two goroutines of one rank.
type Comm struct {
	e     *engine
	ctx   uint64 // even: user traffic; ctx|1: collective traffic
	group []int  // comm rank -> world rank
	rank  int
	inv   map[int]int // world rank -> comm rank; nil for the world
	sys   *Comm       // the collective view; nil on a collective view

	collSeq  atomic.Uint32
	childSeq atomic.Uint64

	// world only
	proc *process
}

// process holds what belongs to the process rather than to a communicator.
type process struct {
	mesh      *mesher
	owned     []rendezvous.Store // closed by Close: the stores Init dialled
	store     rendezvous.Store
	watch     rendezvous.Store
	stopWatch context.CancelFunc
	closeOnce sync.Once
	closeErr  error
	localRank int
	localSize int
}

// Rank returns the calling process's rank in c (0..Size-1).
func (c *Comm) Rank() int { return c.rank }

// Size returns the number of ranks in c.
func (c *Comm) Size() int { return len(c.group) }

// WorldRank returns the world rank of rank r of c. It has no error
// result: r out of [0, Size()) panics.
func (c *Comm) WorldRank(r int) int {
	if r < 0 || r >= len(c.group) {
		panic(fmt.Sprintf("comm: WorldRank: rank %d out of range [0,%d)", r, len(c.group)))
	}
	return c.group[r]
}

func (c *Comm) commRank(world int) int {
	if c.inv == nil {
		return world
	}
	if r, ok := c.inv[world]; ok {
		return r
	}
	return -1
}

func (c *Comm) containsWorld(world int) bool { return c.commRank(world) >= 0 }

// peerOf checks rank r of c, a destination (recv false) or a source, for
// call, and returns its world rank, or ProcNull or AnySource (sources
// only) as they are.
func (c *Comm) peerOf(call string, r int, recv bool) (int, error) {
	switch {
	case r >= 0 && r < len(c.group):
		return c.group[r], nil
	case r == ProcNull:
		return ProcNull, nil
	case r == AnySource && recv:
		return AnySource, nil
	}
	if recv {
		return 0, argErrorf(ErrInvalidRank, "comm: %s: source rank %d out of range [0,%d) (or AnySource, ProcNull)", call, r, len(c.group))
	}
	return 0, argErrorf(ErrInvalidRank, "comm: %s: destination rank %d out of range [0,%d) (or ProcNull)", call, r, len(c.group))
}

// checkTag checks tag for call: 0..MaxTag (any int32 from 0 on a
// collective view), or AnyTag for a receive or probe.
func (c *Comm) checkTag(call string, tag int, recv bool) (int32, error) {
	if recv && tag == AnyTag {
		return AnyTag, nil
	}
	limit := MaxTag
	if c.sys == nil {
		limit = 1<<31 - 1
	}
	if tag < 0 || tag > limit {
		if recv {
			return 0, argErrorf(ErrInvalidTag, "comm: %s: tag %d out of range [0,%d] (or AnyTag)", call, tag, limit)
		}
		return 0, argErrorf(ErrInvalidTag, "comm: %s: tag %d out of range [0,%d]", call, tag, limit)
	}
	return int32(tag), nil
}

func newComm(e *engine, ctx uint64, group []int, myWorld int) *Comm {
	c := &Comm{e: e, ctx: ctx, group: group}
	if !isIdentity(group, e.size) {
		c.inv = make(map[int]int, len(group))
		for i, w := range group {
			c.inv[w] = i
		}
	}
	c.rank = c.commRank(myWorld)
	c.sys = &Comm{e: e, ctx: ctx | 1, group: group, inv: c.inv, rank: c.rank}
	return c
}

func isIdentity(g []int, n int) bool {
	if len(g) != n {
		return false
	}
	for i, w := range g {
		if i != w {
			return false
		}
	}
	return true
}

// StepsPerCollective is how many distinct tags one collective call may use,
// from the base tag Collective returns.
const StepsPerCollective = 1 << 10

// Collective starts one collective operation on c, for library code such as
// package collectives. It returns the communicator's collective view (same
// group and ranks, a separate context that user messages never match) and
// a base tag: the call may use tags base..base+StepsPerCollective-1 on the
// view. Every rank must call Collective once per collective operation, in
// the same order. It has no error result: called on a collective view, it
// panics (a programming error of the library calling it).
func (c *Comm) Collective() (sys *Comm, base int) {
	if c.sys == nil {
		panic("comm: Collective called on a collective view")
	}
	seq := c.collSeq.Add(1)
	return c.sys, int(seq%(1<<20)) * StepsPerCollective
}

// deriveCtx gives a child context id from a parent's and the parent's
// child sequence number. Every member computes the same id with no
// communication; distinct children of one process get distinct ids (with
// overwhelming probability: 63 random-looking bits).
func deriveCtx(parent, seq uint64) uint64 {
	z := parent ^ (seq+1)*0x9E3779B97F4A7C15
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	z ^= z >> 31
	z &^= 1
	if z < 2 {
		z = 2
	}
	return z
}

// Dup returns a new communicator with the same group as c and its own
// context. It is collective over c (every rank must call it, in the same
// order with respect to other Dup and Split calls on c) but needs no
// communication. It takes no argument that could be bad.
func (c *Comm) Dup() *Comm {
	ctx := deriveCtx(c.ctx, c.childSeq.Add(1))
	return newComm(c.e, ctx, c.group, c.group[c.rank])
}

// Split partitions c: ranks that pass the same color form a new
// communicator, ordered by key and then by rank in c. A rank that passes
// Undefined (any negative color) takes part but gets nil. Collective over c.
// Every color and key is valid; the errors are those of the exchange of
// colors and keys (ctx ending, a peer lost).
func (c *Comm) Split(ctx context.Context, color, key int) (*Comm, error) {
	if err := c.checkSplit(ctx); err != nil {
		return nil, fmt.Errorf("comm: split: %w", err)
	}
	seq := c.childSeq.Add(1)
	table, err := c.allgatherInts(ctx, []int{color, key})
	if err != nil {
		return nil, fmt.Errorf("comm: split: %w", err)
	}
	if color < 0 {
		return nil, nil
	}
	type member struct{ key, rank int }
	var ms []member
	for r := 0; r < c.Size(); r++ {
		if table[2*r] == color {
			ms = append(ms, member{table[2*r+1], r})
		}
	}
	slices.SortStableFunc(ms, func(a, b member) int {
		// cmp.Compare, not a subtraction, which overflows for keys far
		// apart.
		if c := cmp.Compare(a.key, b.key); c != 0 {
			return c
		}
		return cmp.Compare(a.rank, b.rank)
	})
	group := make([]int, len(ms))
	for i, m := range ms {
		group[i] = c.group[m.rank]
	}
	return newComm(c.e, deriveCtx(c.ctx, seq), group, c.group[c.rank]), nil
}

// Create returns a communicator of the given ranks of c, in that order.
// Collective over c; ranks not listed get nil. A rank out of [0, Size())
// is an error wrapping ErrInvalidRank, and one listed twice an error
// wrapping ErrInvalidArgument, before any communication (every rank passes
// the same list, so every rank returns it).
func (c *Comm) Create(ctx context.Context, ranks []int) (*Comm, error) {
	color, key := Undefined, 0
	seen := make(map[int]bool, len(ranks))
	for i, r := range ranks {
		if r < 0 || r >= c.Size() {
			return nil, argErrorf(ErrInvalidRank, "comm: Create: rank %d (at index %d) out of range [0,%d)", r, i, c.Size())
		}
		if seen[r] {
			return nil, argErrorf(ErrInvalidArgument, "comm: Create: rank %d listed twice", r)
		}
		seen[r] = true
		if r == c.rank {
			color, key = 0, i
		}
	}
	return c.Split(ctx, color, key)
}

// allgatherInts gathers vals (the same length on every rank) from every
// rank, in rank order, over the collective context: linear gather to rank 0
// and a broadcast back. Used where package collectives cannot be (it
// imports comm).
func (c *Comm) allgatherInts(ctx context.Context, vals []int) ([]int, error) {
	sys, tag := c.Collective()
	n, k := c.Size(), len(vals)
	all := make([]int, n*k)
	if c.rank == 0 {
		copy(all, vals)
		for r := 1; r < n; r++ {
			if _, err := Recv(ctx, sys, all[r*k:(r+1)*k], r, tag); err != nil {
				return nil, err
			}
		}
		reqs := make([]*Request, 0, n-1)
		for r := 1; r < n; r++ {
			reqs = append(reqs, Isend(sys, all, r, tag+1))
		}
		return all, WaitAll(ctx, reqs...)
	}
	if err := Send(ctx, sys, vals, 0, tag); err != nil {
		return nil, err
	}
	_, err := Recv(ctx, sys, all, 0, tag+1)
	return all, err
}

// ---- start-up ----

// Options describe how a rank joins a job. Init fills them from the
// environment that gorun sets; tests and embedders may call Connect directly.
type Options struct {
	Rank, Size int
	// Store is where ranks publish their addresses and find each other's.
	Store rendezvous.Store
	// Watch, if not nil, is watched for the key "abort": when it appears,
	// every pending and later operation fails with ErrAborted. Use a store
	// connection of its own (a Get on it waits for the job's lifetime).
	Watch rendezvous.Store
	// Secret is the job key every connection must prove it knows.
	Secret []byte
	// Addr is the IP address to listen on and advertise. Default 127.0.0.1.
	Addr string
	// LocalRank and LocalSize place the rank on its host.
	LocalRank, LocalSize int
	Config               Config
}

// Connect joins a job: it listens, publishes its address, connects to every
// other rank and returns the world communicator. A rank out of [0, Size)
// is an error wrapping ErrInvalidRank, a bad Config one wrapping
// ErrInvalidArgument.
func Connect(ctx context.Context, o Options) (*Comm, error) {
	if o.Size < 1 || o.Rank < 0 || o.Rank >= o.Size {
		return nil, argErrorf(ErrInvalidRank, "comm: Connect: rank %d out of range [0,%d)", o.Rank, o.Size)
	}
	cfg := o.Config
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.fill(o.LocalSize)
	e := newEngine(o.Rank, o.Size, cfg)
	e.yieldPoll = cfg.Spin > 0 && runtime.GOMAXPROCS(0) == 1
	e.osYield = cfg.Yield == On
	group := make([]int, o.Size)
	for i := range group {
		group[i] = i
	}
	w := newComm(e, 0, group, o.Rank)
	e.worldComm = w
	w.proc = &process{store: o.Store, watch: o.Watch, localRank: o.LocalRank, localSize: o.LocalSize}
	if o.Size == 1 {
		return w, nil
	}
	if o.Store == nil {
		return nil, errors.New("comm: Connect needs a store for a job of more than one rank")
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	// Watch for the launcher's abort notice before any link exists: a
	// peer may die while this rank is still connecting to the others.
	if o.Watch != nil {
		e.lossGrace = cfg.LossGrace
		wctx, stop := context.WithCancel(context.Background())
		w.proc.stopWatch = stop
		go w.watchAbort(wctx)
	}
	if err := w.wire(ctx, o); err != nil {
		if w.proc.stopWatch != nil {
			w.proc.stopWatch()
		}
		e.fail(fmt.Errorf("%w: start-up failed", ErrClosed))
		if w.proc.mesh != nil {
			w.proc.mesh.close()
		}
		e.closeLinks()
		return nil, fmt.Errorf("comm: rank %d: start-up: %w", o.Rank, err)
	}
	return w, nil
}

func (w *Comm) wire(ctx context.Context, o Options) error {
	e := w.e
	addr := o.Addr
	if addr == "" {
		addr = "127.0.0.1"
	}
	lc := net.ListenConfig{Control: e.setCongestion}
	ln, err := lc.Listen(ctx, "tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	if listenerHook != nil {
		ln = listenerHook(ln)
	}
	m := &mesher{e: e, ln: ln, key: o.Secret, acceptCh: make(chan struct{}), stop: make(chan struct{})}
	w.proc.mesh = m
	if e.rank == e.size-1 {
		close(m.acceptCh)
	}
	m.wg.Add(1)
	go m.acceptLoop()
	if err := o.Store.Set(ctx, "addr/"+strconv.Itoa(e.rank), []byte(ln.Addr().String())); err != nil {
		return fmt.Errorf("publishing address: %w", err)
	}
	errs := make(chan error, e.rank)
	for p := 0; p < e.rank; p++ {
		go func(p int) {
			a, err := o.Store.Get(ctx, "addr/"+strconv.Itoa(p))
			if err == nil {
				err = m.dial(ctx, p, string(a))
			}
			errs <- err
		}(p)
	}
	for p := 0; p < e.rank; p++ {
		if err := <-errs; err != nil {
			return err
		}
	}
	select {
	case <-m.acceptCh:
		return nil
	case <-ctx.Done():
		m.mu.Lock()
		n := m.accepted
		m.mu.Unlock()
		return fmt.Errorf("only %d of the %d higher ranks connected: %w", n, e.size-1-e.rank, ctx.Err())
	}
}

func (w *Comm) watchAbort(ctx context.Context) {
	v, err := w.proc.watch.Get(ctx, "abort")
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		w.e.fail(fmt.Errorf("%w: lost contact with the launcher: %v", ErrAborted, err))
		return
	}
	w.e.fail(fmt.Errorf("%w: %s", ErrAborted, v))
}

// Init returns the world communicator of a job started by gorun, from the
// environment gorun sets (GORUN_RANK, GORUN_SIZE, GORUN_STORE, ...). Started
// without gorun, it returns a world of one rank (MPI's singleton start).
// Call it once per process.
func Init() (*Comm, error) { return InitConfig(Config{}) }

// InitConfig is Init with a configuration.
func InitConfig(cfg Config) (*Comm, error) {
	o, err := optionsFromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	o.Config = cfg
	link := openAgentLink() // agentlink.go: the line to gorun's agent (nil without one)
	if o.Size > 1 && o.Store == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		storeAddr := os.Getenv("GORUN_STORE")
		st, err := rendezvous.Dial(ctx, storeAddr, o.Secret, uint32(o.Rank))
		if err != nil {
			return nil, fmt.Errorf("comm: rank %d: %w", o.Rank, err)
		}
		wt, err := rendezvous.Dial(ctx, storeAddr, o.Secret, uint32(o.Rank))
		if err != nil {
			st.Close()
			return nil, fmt.Errorf("comm: rank %d: %w", o.Rank, err)
		}
		o.Store, o.Watch = st, wt
	}
	ctx, stop := link.starting()
	w, err := Connect(ctx, o)
	err = link.started(ctx, o.Rank, w, err)
	stop()
	var owned []rendezvous.Store
	for _, s := range []rendezvous.Store{o.Store, o.Watch} {
		if s != nil {
			owned = append(owned, s)
		}
	}
	if err != nil {
		for _, s := range owned {
			s.Close()
		}
		return nil, err
	}
	w.proc.owned = owned
	return w, nil
}

func optionsFromEnv(getenv func(string) string) (Options, error) {
	o := Options{Size: 1, LocalSize: 1}
	sizeStr := getenv("GORUN_SIZE")
	if sizeStr == "" {
		// Not started by gorun: perhaps by srun directly (see slurm.go).
		return slurmOptions(getenv)
	}
	num := func(name string) (int, error) {
		v, err := strconv.Atoi(getenv(name))
		if err != nil || v < 0 {
			return 0, fmt.Errorf("comm: environment: %s=%q is not a valid number (was this process started by gorun?)", name, getenv(name))
		}
		return v, nil
	}
	var err error
	if o.Size, err = num("GORUN_SIZE"); err != nil {
		return o, err
	}
	if o.Rank, err = num("GORUN_RANK"); err != nil {
		return o, err
	}
	if o.Size < 1 || o.Rank >= o.Size {
		return o, fmt.Errorf("comm: environment: GORUN_RANK=%d does not fit GORUN_SIZE=%d", o.Rank, o.Size)
	}
	o.LocalRank, _ = num("GORUN_LOCAL_RANK")
	if o.LocalSize, err = num("GORUN_LOCAL_SIZE"); err != nil {
		o.LocalSize = 1
	}
	o.Addr = getenv("GORUN_ADDR")
	if o.Size > 1 {
		if getenv("GORUN_STORE") == "" {
			return o, errors.New("comm: environment: GORUN_STORE is not set")
		}
		secret, err := hex.DecodeString(getenv("GORUN_SECRET"))
		if err != nil || len(secret) < 16 {
			return o, errors.New("comm: environment: GORUN_SECRET is missing or malformed")
		}
		o.Secret = secret
		// The secret stays out of the environment of anything this
		// process starts.
		os.Unsetenv("GORUN_SECRET")
	}
	return o, nil
}

// LocalRank returns the rank's index among the ranks on its host.
func (c *Comm) LocalRank() int { return c.world().proc.localRank }

// LocalSize returns the number of ranks on the rank's host.
func (c *Comm) LocalSize() int { return c.world().proc.localSize }

func (c *Comm) world() *Comm { return c.e.worldComm }

// Close finalizes the process's participation in the job (MPI_Finalize).
// It fails the receives still pending (with ErrClosed), withdraws every
// large send that no receive has matched (it fails with ErrClosed) and
// waits for the ones being delivered, tells every other rank it is
// leaving, waits until every other rank has done the same (or is gone),
// discards the messages that arrived but were never received, and closes
// every connection. Apart from that wait for the other ranks, which Close
// on every rank ends, it takes a round trip or the time the data in flight
// takes. If it dropped anything (a pending receive, a send, a message) it
// says what in an error wrapping ErrDropped; if a peer was lost, that
// error. Operations started after Close fail with ErrClosed. Close on any
// communicator closes the world; it is idempotent and returns the same
// error every time.
func (c *Comm) Close() error {
	w := c.world()
	w.proc.closeOnce.Do(func() { w.proc.closeErr = w.finalize(); theLink.Load().closed(w) })
	return w.proc.closeErr
}

func (w *Comm) finalize() error {
	e := w.e
	p := w.proc
	defer func() {
		if p.stopWatch != nil {
			p.stopWatch()
		}
		if p.mesh != nil {
			p.mesh.close()
		}
		e.closeLinks()
		for _, s := range p.owned {
			s.Close()
		}
	}()
	// Pending receives fail, and large sends that no receive has taken
	// are withdrawn; large sends in flight are waited for.
	recvs, withdrawn := e.beginClose()
	if err := e.waitSends(); err != nil {
		return fmt.Errorf("comm: close: %w", err)
	}
	if e.size == 1 {
		e.fail(ErrClosed)
		return dropError(recvs, withdrawn, e.dropUnexpected())
	}
	// Bye goes through each link's control queue, after every control
	// frame queued before it; nothing is written after it.
	e.mu.Lock()
	links := slices.Clone(e.links)
	e.mu.Unlock()
	for _, l := range links {
		if l != nil {
			l.sendControl(wire.Header{Type: wire.Bye})
		}
	}
	for p, l := range links {
		if l != nil {
			if err := l.flushControl(); err != nil {
				e.linkDown(p, err)
			}
		}
	}
	var lost error
	for {
		e.mu.Lock()
		done := 0
		for p := range e.size {
			if p == e.rank {
				continue
			}
			if e.bye[p] {
				done++
			} else if e.peerErr[p] != nil {
				done++
				if lost == nil {
					lost = e.peerErr[p]
				}
			}
		}
		fatal, ch := e.fatal, e.byeCh
		e.mu.Unlock()
		if fatal != nil {
			return fmt.Errorf("comm: close: %w", fatal)
		}
		if done == e.size-1 {
			break
		}
		<-ch
	}
	unreceived := e.dropUnexpected()
	e.fail(ErrClosed)
	if lost != nil {
		return fmt.Errorf("comm: close: %w", lost)
	}
	return dropError(recvs, withdrawn, unreceived)
}

// dropError is Close's report of what it dropped: recvs receives still
// pending, the sends among withdrawn that no receive took, and unreceived
// messages that arrived but were never received. Nil if nothing was.
func dropError(recvs int, withdrawn []*Request, unreceived int) error {
	sends := 0
	for _, s := range withdrawn {
		if _, _, err := s.Test(); err != nil {
			sends++
		}
	}
	var parts []string
	plural := func(n int, one, many string) {
		if n == 1 {
			parts = append(parts, "1 "+one)
		} else if n > 1 {
			parts = append(parts, strconv.Itoa(n)+" "+many)
		}
	}
	plural(sends, "send that no receive matched", "sends that no receive matched")
	plural(unreceived, "message that arrived but was never received", "messages that arrived but were never received")
	plural(recvs, "receive still pending", "receives still pending")
	if len(parts) == 0 {
		return nil
	}
	return fmt.Errorf("comm: close: %w: %s", ErrDropped, strings.Join(parts, ", "))
}

// Abort ends the whole job (MPI_Abort): it tells the launcher that this
// rank aborted with code, then exits the process with that code. gorun
// terminates every other rank. It does not return.
func (c *Comm) Abort(code int) {
	w := c.world()
	if w.proc.store == nil {
		fmt.Fprintf(os.Stderr, "comm: rank %d called Abort(%d)\n", w.rank, code)
	} else {
		// gorun reports the abort.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		w.proc.store.Set(ctx, "aborted/"+strconv.Itoa(w.rank), []byte(strconv.Itoa(code)))
		cancel()
	}
	os.Exit(code)
}
