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
