package launcher

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/vmihailenco/msgpack/v5"
)

// The head (gorun) and each agent exchange msgpack-encoded messages over
// one stream: an in-process pipe in local mode, the ssh session's stdin and
// stdout for SSH hosts, a dialled-back TCP connection under Slurm.

// Message kinds, head to agent.
const (
	msgLaunch = "launch" // start the ranks in Launch
	msgSignal = "signal" // send Sig to every rank's process group
	msgStdin  = "stdin"  // Data goes to rank 0's standard input; empty Data closes it
	msgPing   = "ping"   // heartbeat (both directions) on remote links
	msgAbort  = "abort"  // the job is aborted (Err: why): ranks in Init hear it on their agent links
)

// Message kinds, agent to head.
const (
	msgStarted = "started" // Rank is running as Pid
	msgOutput  = "output"  // Data is one line (or fragment) of Rank's Stream
	msgExited  = "exited"  // Rank ended: Code, or Signal
	msgFailed  = "failed"  // the agent could not start Rank: Err
	msgDone    = "done"    // every rank of the agent has ended
	msgHello   = "hello"   // a remote agent is up: Host, and Data = the head's IP as the agent sees it
	msgPhase   = "phase"   // Rank (process Pid) entered phase Code (phaseInit, phaseReady, phaseClosed)
	msgLost    = "lost"    // Rank (process Pid) stopped heartbeating at At; Err says for how long
)

type message struct {
	Kind   string      `msgpack:"k"`
	Rank   int         `msgpack:"r,omitempty"`
	Pid    int         `msgpack:"p,omitempty"`
	Stream int         `msgpack:"s,omitempty"` // 1 stdout, 2 stderr
	Data   []byte      `msgpack:"d,omitempty"`
	Code   int         `msgpack:"c,omitempty"`
	Sig    int         `msgpack:"g,omitempty"`
	Err    string      `msgpack:"e,omitempty"`
	Host   string      `msgpack:"h,omitempty"`
	CPUs   string      `msgpack:"u,omitempty"` // started: the rank's CPU binding ("" = unbound)
	Launch *launchSpec `msgpack:"l,omitempty"`
	At     int64       `msgpack:"t,omitempty"`  // when the rank ended (Unix ns)
	Phase  int         `msgpack:"ph,omitempty"` // exited: the rank's last phase (phaseNone...)
}

// launchSpec is everything an agent needs to start its host's ranks.
type launchSpec struct {
	Program string     `msgpack:"program"`
	Args    []string   `msgpack:"args"`
	Env     []string   `msgpack:"env"`     // added to each rank's environment (GORUN_*, -x)
	Inherit bool       `msgpack:"inherit"` // start from the agent's own environment
	Dir     string     `msgpack:"dir"`     // working directory ("" = the agent's)
	Ranks   []rankSpec `msgpack:"ranks"`
	// MapBy and BindTo are --map-by and --bind-to: the agent plans its
	// host's bindings from its own topology (kernels/affinity).
	MapBy  string `msgpack:"map_by"`
	BindTo string `msgpack:"bind_to"`
	Size   int    `msgpack:"size"`
	// RankTimeout is the heartbeat timeout of ranks that use comm, in
	// nanoseconds; 0: no heartbeats.
	RankTimeout int64 `msgpack:"rank_timeout"`
	// Remote agents only.
	DirRequired bool   `msgpack:"dir_required"` // Dir was given by the user: fail if missing
	StorePort   int    `msgpack:"store_port"`   // != 0: the agent sets GORUN_STORE and GORUN_ADDR
	HeadIP      string `msgpack:"head_ip"`      // the store's IP; "" = the head's IP as the agent sees it
	Iface       string `msgpack:"iface"`        // pick GORUN_ADDR on this interface
	Net         string `msgpack:"net"`          // or in this subnet (CIDR)
	HostLabel   string `msgpack:"host_label"`   // the host's name in gorun's messages
}

type rankSpec struct {
	Rank      int    `msgpack:"rank"`
	LocalRank int    `msgpack:"local_rank"`
	LocalSize int    `msgpack:"local_size"`
	CPUs      string `msgpack:"cpus"` // Linux CPU list to bind to; "" = unbound
	Node      int    `msgpack:"node"` // NUMA node of CPUs, -1 if unknown or several
	// Oversubscribed is "1" when the host runs more ranks than CPUs.
	Oversubscribed string `msgpack:"over"`
}

// conn is one end of the head–agent stream. send is safe for concurrent
// use; recv is called by one goroutine.
type conn struct {
	wmu sync.Mutex
	w   *bufio.Writer
	enc *msgpack.Encoder
	dec *msgpack.Decoder
	c   io.Closer

	// Asynchronous connections (the head's links to remote agents) queue
	// what they send, so that a link stuck on a dead host never blocks the
	// head's other work.
	async  bool
	qmu    sync.Mutex
	qcond  *sync.Cond
	q      []*message
	closed bool
	once   sync.Once
}

func newConn(rw io.ReadWriteCloser) *conn {
	w := bufio.NewWriter(rw)
	return &conn{w: w, enc: msgpack.NewEncoder(w), dec: msgpack.NewDecoder(bufio.NewReader(rw)), c: rw}
}

func newAsyncConn(rw io.ReadWriteCloser) *conn {
	c := newConn(rw)
	c.async = true
	c.qcond = sync.NewCond(&c.qmu)
	go c.writer()
	return c
}

var errConnClosed = errors.New("launcher: connection closed")

func (c *conn) writer() {
	for {
		c.qmu.Lock()
		for len(c.q) == 0 && !c.closed {
			c.qcond.Wait()
		}
		if c.closed {
			c.q = nil
			c.qmu.Unlock()
			return
		}
		batch := c.q
		c.q = nil
		c.qmu.Unlock()
		c.wmu.Lock()
		var err error
		for _, m := range batch {
			if err = c.enc.Encode(m); err != nil {
				break
			}
		}
		if err == nil {
			err = c.w.Flush()
		}
		c.wmu.Unlock()
		if err != nil {
			c.close()
			return
		}
	}
}

func (c *conn) send(m *message) error {
	if c.async {
		c.qmu.Lock()
		defer c.qmu.Unlock()
		if c.closed {
			return errConnClosed
		}
		c.q = append(c.q, m)
		c.qcond.Signal()
		return nil
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.enc.Encode(m); err != nil {
		return err
	}
	return c.w.Flush()
}

func (c *conn) recv() (*message, error) {
	var m message
	if err := c.dec.Decode(&m); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("launcher: bad message: %w", err)
	}
	return &m, nil
}

func (c *conn) close() error {
	var err error
	c.once.Do(func() {
		if c.async {
			c.qmu.Lock()
			c.closed = true
			c.qcond.Signal()
			c.qmu.Unlock()
		}
		err = c.c.Close()
	})
	return err
}
