package comm

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"
)

// Config tunes a communicator. The zero value works: every zero field takes
// its default. Ranks of one job may use different values; a receiver
// accepts frames up to fixed hard limits whatever its own settings.
//
// The engine's settings are Config's own fields; TCP and Shm hold the
// settings of each transport. Connect uses the Config it is given and reads
// no environment variable; Init and InitConfig first take the environment's
// overrides named below (the variables gorun sets, or a user exports with
// gorun -x) for the fields left zero.
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
	// ChunkSize is the size of the data frames of a rendezvous transfer
	// over TCP (a shared-memory link sends the data as one frame, which
	// its ring pipelines in chunks of its own). Default 1 MiB, or 512 KiB
	// when the host runs more ranks than it has CPUs; at most 64 MiB.
	// Environment: GORUN_CHUNK_SIZE. Measured over loopback TCP on a
	// 2-core host (bench/coll, 13 alternating rounds, medians, µs, 512
	// KiB/1 MiB): np 2 Bcast 1 MiB 138/128, 4 MiB 507/488, Allreduce and
	// Reduce within 2 %; np 4 Bcast 1 MiB 403/377; np 8 Bcast 1 MiB
	// 946/994, Allreduce 2431/2554, Reduce 1337/1427.
	ChunkSize int
	// Spin is how long a goroutine waiting for a message polls for it
	// before parking. Zero means automatic: 50µs, or 3ms with the
	// processor yielded between polls when the host runs more ranks than
	// it has CPUs (see Yield). Negative disables polling. Environment:
	// GORUN_SPIN (a Go duration; 0 disables polling).
	Spin time.Duration
	// Yield makes a polling rank give its CPU to other processes
	// (sched_yield(2)) between polls, so that on an oversubscribed host
	// the rank it waits for gets to run while this one keeps watching its
	// links: waking a sleeping process costs 20-35µs between the vCPUs
	// of a VM, a yield well under one. With Yield on, link readers park at
	// once and leave the polling to the waiting goroutines. Zero means
	// automatic: on when the host runs more ranks than it has CPUs.
	// Environment: GORUN_YIELD (1 or 0).
	Yield Toggle
	// Oversubscribed says whether this host runs more ranks than it has
	// CPUs, which sets the defaults of ChunkSize, Spin and Yield. Zero
	// means automatic: Options.LocalSize > runtime.NumCPU(). Environment:
	// GORUN_OVERSUBSCRIBED (1 or 0; gorun sets it, since a rank bound to
	// one core cannot tell from runtime.NumCPU, which counts only its own
	// CPUs).
	Oversubscribed Toggle
	// Transport chooses the link of each pair of ranks: "auto" (the
	// default) links ranks of one host (same boot id and host name) by
	// shared memory and the others by TCP, so a job over several hosts
	// uses both; "shm" links every pair by shared memory, and a pair on
	// two hosts is an error at start-up; "tcp" links every pair by TCP.
	// Under "auto", a pair whose segment cannot be made (a full tmpfs, a
	// system without memfds) falls back to TCP with one log line. A build
	// without shared memory (ShmAvailable false: not Linux, or -tags
	// gorun_portable) links every pair by TCP under "auto", and Validate
	// refuses "shm".
	// Environment: GORUN_TRANSPORT (gorun --transport sets it).
	Transport string
	// TCP holds the TCP transport's settings.
	TCP TCPConfig
	// Shm holds the shared-memory transport's settings.
	Shm ShmConfig
	// HandshakeTimeout bounds each connection's set-up: its
	// authentication, and for a shared-memory pair the exchange of its
	// segment. Default 10s.
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
	// ranks agree on each collective call before it runs. Zero means off;
	// Init reads GORUN_CHECK=1 (gorun --check). Every rank of a job must
	// have the same setting.
	Check Toggle
	// AsyncProgress makes a rank hold one more P (runtime.GOMAXPROCS
	// raised by one) while any of its non-blocking collectives (package
	// collectives: Iallreduce, Ibarrier, ...) is in flight, and give it
	// back when none is, as MPICH_ASYNC_PROGRESS=1 gives an MPI rank a
	// progress thread: the goroutine that runs the collective then gets a
	// thread of its own, scheduled by the kernel beside the computing
	// goroutine's (on the same CPU when the rank is bound to one), instead
	// of waiting until the caller blocks, yields or is preempted. It is
	// for ranks that compute while their collectives are in flight with
	// GOMAXPROCS=1 (gorun's default when the ranks fill the host's CPUs):
	// in bench/ddp it paid for 0.5 MB reductions and on an oversubscribed
	// host, and cost time for small reductions with one rank per core.
	// Zero means off; Init reads
	// GORUN_ASYNC_PROGRESS (1 or 0). A call may override it with
	// collectives.WithAsyncProgress.
	AsyncProgress Toggle
}

// TCPConfig holds the settings of the TCP transport. The zero value works.
type TCPConfig struct {
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
}

// ShmConfig holds the settings of the shared-memory transport. The zero
// value works.
type ShmConfig struct {
	// RingSize is the data area of each direction of a pair's ring, in
	// bytes: a power of two from 16 KiB to 1 GiB. Default 1 MiB (a pair's
	// segment is then a little over 2 MiB). The lower rank of a pair, which
	// makes the segment, decides.
	RingSize int
	// CMA lets a receiver copy a large payload (4 MiB or more) once,
	// straight from the sender's memory into the receive buffer, with
	// process_vm_readv(2), where the kernel allows it (probed once per
	// pair: Yama's ptrace_scope, containers without CAP_SYS_PTRACE and
	// seccomp filters can forbid it). Off pipelines every payload through
	// the ring in chunks. Zero means automatic: on only when the host
	// runs more ranks than it has CPUs (Oversubscribed). Ranks with CPUs
	// of their own copy through the ring faster, the two copies running
	// at once (ping-pong on 2 CPUs: 2 MiB 78 µs against 324-337 µs, 16
	// MiB 0.95-1.1 ms against 3.4-3.7 ms); ranks that share CPUs copy
	// faster once (a hop of np 8 on 2 CPUs: 4 MiB 740-805 µs against
	// 880-1090 µs, 16 MiB 2.6-2.9 ms against 3.6-4.3 ms). Environment:
	// GORUN_SHM_CMA (1 or 0).
	CMA Toggle
	// Dir, if set, backs the segments with unnamed files (O_TMPFILE) in
	// that directory, a tmpfs such as /dev/shm, whose size limit then
	// applies: a pair whose segment does not fit falls back to TCP with one
	// log line. Default: memfds, limited only by the memory cgroup.
	// Environment: GORUN_SHM_DIR.
	Dir string
}

// Transport names (Config.Transport).
const (
	TransportAuto = "auto"
	TransportShm  = "shm"
	TransportTCP  = "tcp"
)

// Toggle is a setting that is automatic (zero), on or off.
type Toggle int8

// Toggle values.
const (
	On  Toggle = 1
	Off Toggle = -1
)

// DefaultConfig returns the configuration the zero Config stands for, with
// the environment's overrides applied, as InitConfig uses it. localSize is
// the number of ranks on this host (for the polling decision; 0 if
// unknown).
func DefaultConfig(localSize int) Config {
	var c Config
	c.applyEnv(os.Getenv)
	c.fill(localSize)
	return c
}

// applyEnv sets the fields left zero that the environment overrides (see
// each field). Only Init, InitConfig and DefaultConfig call it.
func (c *Config) applyEnv(getenv func(string) string) {
	num := func(name string, dst *int, ok func(int) bool) {
		if v, err := strconv.Atoi(getenv(name)); err == nil && ok(v) && *dst == 0 {
			*dst = v
		}
	}
	toggle := func(name string, dst *Toggle) {
		if *dst != 0 {
			return
		}
		switch getenv(name) {
		case "1":
			*dst = On
		case "0":
			*dst = Off
		}
	}
	num("GORUN_EAGER_LIMIT", &c.EagerLimit, func(v int) bool { return v > 0 })
	num("GORUN_EAGER_WINDOW", &c.EagerWindow, func(v int) bool { return v != 0 })
	num("GORUN_CHUNK_SIZE", &c.ChunkSize, func(v int) bool { return v > 0 })
	if c.Spin == 0 {
		if d, err := time.ParseDuration(getenv("GORUN_SPIN")); err == nil {
			c.Spin = d
			if d == 0 {
				c.Spin = -1
			}
		}
	}
	toggle("GORUN_YIELD", &c.Yield)
	toggle("GORUN_OVERSUBSCRIBED", &c.Oversubscribed)
	if c.Transport == "" {
		c.Transport = getenv("GORUN_TRANSPORT")
	}
	if getenv("GORUN_PEEK") == "0" && c.TCP.PeekReads == 0 {
		c.TCP.PeekReads = Off
	}
	if c.TCP.Congestion == "" {
		c.TCP.Congestion = getenv("GORUN_TCP_CC")
	}
	toggle("GORUN_SHM_CMA", &c.Shm.CMA)
	toggle("GORUN_ASYNC_PROGRESS", &c.AsyncProgress)
	if c.Check == 0 && getenv("GORUN_CHECK") == "1" {
		c.Check = On
	}
	if c.Shm.Dir == "" {
		c.Shm.Dir = getenv("GORUN_SHM_DIR")
	}
}

// fill gives every zero field its default. It reads no environment.
func (c *Config) fill(localSize int) {
	if c.EagerLimit == 0 {
		c.EagerLimit = 64 << 10
	}
	c.EagerLimit = min(c.EagerLimit, int(frameLimits.MaxEager))
	if c.EagerWindow == 0 {
		c.EagerWindow = 1 << 20
	}
	if c.Oversubscribed == 0 {
		c.Oversubscribed = Off
		if localSize > runtime.NumCPU() {
			c.Oversubscribed = On
		}
	}
	over := c.Oversubscribed == On
	if c.ChunkSize <= 0 {
		c.ChunkSize = 1 << 20
		if over {
			c.ChunkSize = 512 << 10
		}
	}
	c.ChunkSize = min(c.ChunkSize, int(frameLimits.MaxChunk))
	if c.Yield == 0 {
		c.Yield = Off
		if over {
			c.Yield = On
		}
	}
	if c.Spin == 0 {
		c.Spin = 50 * time.Microsecond
		if over {
			c.Spin = 3 * time.Millisecond
		}
	}
	if c.Transport == "" {
		c.Transport = TransportAuto
	}
	if c.TCP.PeekReads == 0 {
		c.TCP.PeekReads = On
	}
	if c.TCP.Congestion == "" {
		c.TCP.Congestion = "reno"
	}
	if c.Shm.CMA == 0 {
		c.Shm.CMA = Off
		if over {
			c.Shm.CMA = On
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
	if c.Logf == nil {
		c.Logf = func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	}
}

// Validate reports a configuration error, if any, wrapping
// ErrInvalidArgument.
func (c *Config) Validate() error {
	if c.EagerLimit < 0 || c.ChunkSize < 0 || c.TCP.SocketBuffer < 0 {
		return fmt.Errorf("%w: Config: negative EagerLimit, ChunkSize or TCP.SocketBuffer", ErrInvalidArgument)
	}
	switch c.Transport {
	case "", TransportAuto, TransportShm, TransportTCP:
	default:
		return fmt.Errorf("%w: Config: Transport %q: want auto, shm or tcp", ErrInvalidArgument, c.Transport)
	}
	if c.Transport == TransportShm && !ShmAvailable {
		return fmt.Errorf("%w: Config: Transport shm: this build has no shared memory (Linux only, and not under -tags gorun_portable)", ErrInvalidArgument)
	}
	if n := c.Shm.RingSize; n != 0 && (n < 16<<10 || n > 1<<30 || n&(n-1) != 0) {
		return fmt.Errorf("%w: Config: Shm.RingSize %d: want a power of two from 16 KiB to 1 GiB", ErrInvalidArgument, n)
	}
	return nil
}

// AsyncProgress reports whether c's non-blocking collectives raise
// GOMAXPROCS by one while in flight (Config.AsyncProgress,
// GORUN_ASYNC_PROGRESS=1). It is fixed for the life of the process's world
// and the communicators derived from it. Safe for concurrent use.
func (c *Comm) AsyncProgress() bool { return c.e.cfg.AsyncProgress == On }

func (e *engine) logf(format string, args ...any) { e.cfg.Logf(format, args...) }
