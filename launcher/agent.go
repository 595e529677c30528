package launcher

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gorun-hpc/gorun/comm/rendezvous"
	"github.com/gorun-hpc/gorun/kernels/affinity"
	"github.com/gorun-hpc/gorun/kernels/topology"
)

// KillGrace is how long ranks get between SIGTERM and SIGKILL when an agent
// tears down on its own (its head is gone).
const KillGrace = 2 * time.Second

// maxLine is the longest output line forwarded whole; longer lines are
// forwarded in pieces of this size.
const maxLine = 64 << 10

// RunAgent serves one head over rw: it starts the ranks the head asks for,
// forwards their output and exits, relays signals, and kills every rank when
// the stream closes (so no rank outlives a lost gorun). It returns when
// every rank it started has ended and the stream is closed. host names the
// agent in messages.
func RunAgent(ctx context.Context, rw io.ReadWriteCloser, host string) error {
	return RunAgentOptions(ctx, rw, AgentOptions{Host: host})
}

// AgentOptions configures a remote agent.
type AgentOptions struct {
	Host string // names the agent in messages (default: the hostname)
	// Heartbeat, if positive, makes the agent send a ping this often and
	// treat a head silent for Timeout as lost (a cut network drops packets
	// without closing the stream). Timeout defaults to 5 heartbeats.
	Heartbeat, Timeout time.Duration
	// HeadIP is the head's address as this agent reached it ("" = from
	// SSH_CONNECTION or SLURM_LAUNCH_NODE_IPADDR).
	HeadIP string
	// Hello makes the agent announce itself (remote agents).
	Hello bool
}

// RunAgentOptions is RunAgent with options, for agents on remote hosts.
func RunAgentOptions(ctx context.Context, rw io.ReadWriteCloser, o AgentOptions) error {
	if o.Host == "" {
		o.Host, _ = os.Hostname()
	}
	if o.Heartbeat > 0 && o.Timeout <= 0 {
		o.Timeout = 5 * o.Heartbeat
	}
	if o.HeadIP == "" {
		o.HeadIP = headIPFromEnv()
	}
	a := &agent{c: newConn(rw), host: o.Host, opts: o, procs: map[int]*rankProc{}, finished: make(chan struct{})}
	return a.run(ctx)
}

type agent struct {
	c    *conn
	host string
	opts AgentOptions

	mu       sync.Mutex
	procs    map[int]*rankProc // running ranks
	groups   []int             // the process group of every rank started
	stdin    *stdinQueue       // rank 0's standard input, if here
	running  sync.WaitGroup    // ranks not yet reported exited
	output   sync.WaitGroup    // output forwarders (a rank's children may outlive it)
	started  bool
	keeper   *keeper
	finished chan struct{} // closed when every rank is reported and msgDone sent
	queries  agentQueries  // stall.go
}

// Phases of a rank that uses comm, as its agent link tells them.
const (
	phaseNone   = 0 // has not called Init (or does not use comm)
	phaseInit   = 1 // in Init
	phaseReady  = 2 // Init returned a communicator
	phaseClosed = 3 // Close finished
)

// rankProc is one running rank on this agent.
type rankProc struct {
	rank, pid int
	cmd       *exec.Cmd
	link      *os.File      // the agent's end of the rank's agent link
	linkDone  chan struct{} // closed when the link reader has returned

	mu      sync.Mutex
	phase   int
	commPid int       // the process that called Init (the rank, or a child of a script)
	last    time.Time // the last heartbeat (or phase change)
	lost    bool      // declared lost for want of heartbeats
}

// drainWait is how long a rank's exit report waits for the rank's pipes and
// agent link to reach end of file: the rank's last lines and messages come
// first, but children that keep its output open do not hold up the report.
const drainWait = 100 * time.Millisecond

// leftoverGrace is how long a finished rank's leftover children (its
// process group) get between SIGTERM and SIGKILL once every rank of the
// agent has ended.
const leftoverGrace = time.Second

// stdinQueue feeds rank 0's standard input from its own goroutine, so that
// a rank that does not read its input never blocks the agent's loop.
type stdinQueue struct {
	mu     sync.Mutex
	cond   *sync.Cond
	chunks [][]byte
	eof    bool
}

func newStdinQueue(w io.WriteCloser) *stdinQueue {
	q := &stdinQueue{}
	q.cond = sync.NewCond(&q.mu)
	go func() {
		defer w.Close()
		for {
			q.mu.Lock()
			for len(q.chunks) == 0 && !q.eof {
				q.cond.Wait()
			}
			if len(q.chunks) == 0 {
				q.mu.Unlock()
				return
			}
			c := q.chunks[0]
			q.chunks = q.chunks[1:]
			q.mu.Unlock()
			if _, err := w.Write(c); err != nil {
				q.close()
				return
			}
		}
	}()
	return q
}

func (q *stdinQueue) push(b []byte) {
	q.mu.Lock()
	if !q.eof {
		q.chunks = append(q.chunks, b)
	}
	q.mu.Unlock()
	q.cond.Signal()
}

func (q *stdinQueue) close() {
	q.mu.Lock()
	q.eof = true
	q.chunks = nil
	q.mu.Unlock()
	q.cond.Signal()
}

func (a *agent) run(ctx context.Context) error {
	msgs := make(chan *message)
	rerr := make(chan error, 1)
	go func() {
		for {
			m, err := a.c.recv()
			if err != nil {
				rerr <- err
				close(msgs)
				return
			}
			msgs <- m
		}
	}()
	var tick <-chan time.Time
	stop := make(chan struct{})
	defer close(stop)
	if a.opts.Heartbeat > 0 {
		t := time.NewTicker(a.opts.Heartbeat)
		defer t.Stop()
		tick = t.C
		// Pings go from their own goroutine: a send blocked on a dead
		// link must not stop the agent from noticing that the link is dead.
		go every(a.opts.Heartbeat, stop, func() bool { return a.c.send(&message{Kind: msgPing}) == nil })
	}
	if a.opts.Hello {
		go a.c.send(&message{Kind: msgHello, Host: a.host, Data: []byte(a.opts.HeadIP)})
	}
	last := time.Now()
	var linkErr error
loop:
	for {
		select {
		case m, ok := <-msgs:
			if !ok {
				linkErr = <-rerr
				break loop
			}
			last = time.Now()
			a.handle(m)
		case <-tick:
			if time.Since(last) > a.opts.Timeout {
				linkErr = fmt.Errorf("no word from gorun for %v: giving up on it", a.opts.Timeout.Round(time.Millisecond))
				break loop
			}
		case <-ctx.Done():
			linkErr = ctx.Err()
			break loop
		}
	}
	if a.opts.Hello {
		// A remote agent closes its end first, so that sends blocked on a
		// dead link fail instead of holding up the teardown.
		a.c.close()
	}
	// The head is gone (or told us to stop by closing): no rank may outlive it.
	done := make(chan struct{})
	go func() { a.running.Wait(); close(done) }()
	if !escalate(done, a.signalAll, termThenKill(0, KillGrace)...) {
		// Every rank got SIGKILL; what is left after KillGrace more is
		// output forwarding stuck on a dead link. Do not wait for it.
		waitFor(done, KillGrace)
	}
	a.mu.Lock()
	launched := a.started
	a.mu.Unlock()
	if launched {
		select {
		case <-a.finished:
		case <-time.After(KillGrace):
		}
	}
	a.c.close()
	if errors.Is(linkErr, io.EOF) {
		return nil
	}
	return linkErr
}

func (a *agent) handle(m *message) {
	switch m.Kind {
	case msgLaunch:
		a.mu.Lock()
		again := a.started
		a.started = m.Launch != nil
		a.mu.Unlock()
		if again || m.Launch == nil {
			return
		}
		if err := a.prepare(m.Launch); err != nil {
			for _, rs := range m.Launch.Ranks {
				a.c.send(&message{Kind: msgFailed, Rank: rs.Rank, Err: err.Error(), Host: a.host})
			}
			a.c.send(&message{Kind: msgDone, Host: a.host})
			close(a.finished)
			return
		}
		a.launch(m.Launch)
	case msgSignal:
		a.signalAll(syscall.Signal(m.Sig))
	case msgQuery, msgClock:
		a.query(m) // stall.go, trace.go
	case msgAbort:
		// Ranks still in Init hear it on their agent links (the others
		// watch the store).
		line := rendezvous.FormatLink(rendezvous.LinkAbort, m.Err)
		a.mu.Lock()
		for _, rp := range a.procs {
			go func() {
				rp.link.SetWriteDeadline(time.Now().Add(time.Second))
				rp.link.Write(line)
			}()
		}
		a.mu.Unlock()
	case msgStdin:
		a.mu.Lock()
		q := a.stdin
		a.mu.Unlock()
		if q == nil {
			return
		}
		if len(m.Data) == 0 {
			q.mu.Lock()
			q.eof = true
			q.mu.Unlock()
			q.cond.Signal()
		} else {
			q.push(m.Data)
		}
	}
}

func (a *agent) signalAll(sig syscall.Signal) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, rp := range a.procs {
		// Each rank leads its own process group: signal the group, so
		// that whatever a rank started (a shell script's children) goes too.
		syscall.Kill(-rp.pid, sig)
	}
}

func (a *agent) launch(spec *launchSpec) {
	// Children get SIGKILL when the thread that started them exits
	// (Pdeathsig); keep one locked thread for all starts, alive until every
	// rank has been started and reaped.
	starts := make(chan func())
	go func() {
		runtime.LockOSThread()
		for f := range starts {
			f()
		}
		a.running.Wait()
		// Returning without UnlockOSThread ends this thread, which is fine:
		// every child has exited by now.
	}()
	becomeSubreaper()
	if k, err := startKeeper(); err == nil {
		a.keeper = k
	} else {
		a.c.send(&message{Kind: msgOutput, Rank: spec.Ranks[0].Rank, Stream: 2,
			Data: []byte(fmt.Sprintf("gorun: %s: no keeper process (%v): a SIGKILL of gorun may leave ranks' children running\n", a.host, err))})
	}
	rankTimeout := time.Duration(spec.RankTimeout)
	base := []string{}
	if spec.Inherit {
		base = os.Environ()
	}
	for _, rs := range spec.Ranks {
		env := append(append([]string{}, base...), spec.Env...)
		env = append(env,
			"GORUN_RANK="+strconv.Itoa(rs.Rank),
			"GORUN_SIZE="+strconv.Itoa(spec.Size),
			"GORUN_LOCAL_RANK="+strconv.Itoa(rs.LocalRank),
			"GORUN_LOCAL_SIZE="+strconv.Itoa(rs.LocalSize),
			"GORUN_HOST="+a.host,
			"GORUN_OVERSUBSCRIBED="+rs.Oversubscribed,
		)
		if rs.CPUs == "" && !hasVar(env, "GOMAXPROCS") {
			// An unbound rank's Go runtime would size itself to every
			// CPU of the host, and the ranks' spare threads would fight
			// over the cores; give each its share. (A bound rank's
			// runtime sizes itself to its own CPU set.)
			env = append(env, "GOMAXPROCS="+strconv.Itoa(max(1, runtime.NumCPU()/max(1, rs.LocalSize))))
		}
		if rs.CPUs != "" {
			env = append(env, "GORUN_CPUSET="+rs.CPUs)
			if rs.Node >= 0 {
				env = append(env, "GORUN_NUMA_NODE="+strconv.Itoa(rs.Node))
			}
		}
		env = append(env, rendezvous.AgentFDEnv+"=3")
		if rankTimeout > 0 {
			env = append(env, rendezvous.HeartbeatEnv+"="+heartbeatInterval(rankTimeout).String())
		}
		errc := make(chan error, 1)
		starts <- func() { errc <- a.start(spec, rs, env) }
		if err := <-errc; err != nil {
			a.c.send(&message{Kind: msgFailed, Rank: rs.Rank, Err: err.Error(), Host: a.host})
		}
	}
	close(starts)
	if rankTimeout > 0 {
		go a.watchHeartbeats(rankTimeout)
	}
	go func() {
		a.running.Wait()
		a.reapGroups()
		waitGroupFor(&a.output, drainWait)
		a.keeper.done()
		a.c.send(&message{Kind: msgDone, Host: a.host})
		close(a.finished)
	}()
}

// heartbeatInterval is how often ranks beat for a heartbeat timeout.
func heartbeatInterval(timeout time.Duration) time.Duration {
	return min(max(timeout/6, 10*time.Millisecond), time.Second)
}

// watchHeartbeats declares lost every rank in Init or after it whose
// heartbeat has been silent for timeout (a stopped or frozen process): it
// tells the head, then kills the rank's process group.
func (a *agent) watchHeartbeats(timeout time.Duration) {
	t := time.NewTicker(min(max(timeout/8, 5*time.Millisecond), 500*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-a.finished:
			return
		case <-t.C:
		}
		now := time.Now()
		var lost []*rankProc
		a.mu.Lock()
		for _, rp := range a.procs {
			rp.mu.Lock()
			if (rp.phase == phaseInit || rp.phase == phaseReady) && !rp.lost && now.Sub(rp.last) > timeout {
				rp.lost = true
				lost = append(lost, rp)
			}
			rp.mu.Unlock()
		}
		a.mu.Unlock()
		for _, rp := range lost {
			rp.mu.Lock()
			pid := rp.commPid
			rp.mu.Unlock()
			a.c.send(&message{Kind: msgLost, Rank: rp.rank, Pid: pid, Host: a.host, At: now.UnixNano(),
				Err: fmt.Sprintf("stopped responding for %v", timeout)})
			escalate(nil, signalGroup(rp.pid), killStep{0, syscall.SIGKILL})
		}
	}
}

// reapGroups ends what is left of the ranks' process groups once every rank
// has exited (children a rank left running): SIGTERM, then SIGKILL after
// leftoverGrace.
func (a *agent) reapGroups() {
	a.mu.Lock()
	groups := a.groups
	a.mu.Unlock()
	alive := func() []int {
		var left []int
		for _, g := range groups {
			// Leftovers are this process's children (the agent is a
			// subreaper): reap the dead, so that zombies do not count.
			for {
				var ws syscall.WaitStatus
				if pid, err := syscall.Wait4(-g, &ws, syscall.WNOHANG, nil); err != nil || pid <= 0 {
					break
				}
			}
			if syscall.Kill(-g, 0) == nil {
				left = append(left, g)
			}
		}
		return left
	}
	left := alive()
	if len(left) == 0 {
		return
	}
	// The groups' members need not be this process's children (a rank's
	// grandchildren whose parent lives): nothing reports that a group is
	// empty, so it is looked at every 10 ms.
	empty, stop := make(chan struct{}), make(chan struct{})
	defer close(stop)
	go every(10*time.Millisecond, stop, func() bool {
		if len(alive()) > 0 {
			return true
		}
		close(empty)
		return false
	})
	escalate(empty, func(sig syscall.Signal) {
		for _, g := range alive() {
			syscall.Kill(-g, sig)
		}
	}, termThenKill(0, leftoverGrace)...)
}

// every calls f every d until f returns false or stop closes.
func every(d time.Duration, stop <-chan struct{}, f func() bool) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		if !f() {
			return
		}
	}
}

// waitGroupFor waits for wg, at most d.
func waitGroupFor(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

// waitUntil waits for ch to close, until deadline.
func waitUntil(ch <-chan struct{}, deadline time.Time) {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
	}
}

func (a *agent) start(spec *launchSpec, rs rankSpec, env []string) (err error) {
	cmd := exec.Command(spec.Program, spec.Args...)
	cmd.Env = env
	cmd.Dir = spec.Dir
	cmd.SysProcAttr = rankProcAttr()
	// The rank's output goes to pipes of the agent's own (not exec's,
	// whose Wait would wait for them): children that keep them open do
	// not delay the rank's exit report, and what they print is still
	// forwarded while they live.
	var files []*os.File // closed on failure
	defer func() {
		if err != nil {
			for _, f := range files {
				f.Close()
			}
		}
	}()
	outR, outW, err := os.Pipe()
	if err != nil {
		return err
	}
	files = append(files, outR, outW)
	errR, errW, err := os.Pipe()
	if err != nil {
		return err
	}
	files = append(files, errR, errW)
	fds, err := linkSocketpair()
	if err != nil {
		return err
	}
	syscall.SetNonblock(fds[0], true)
	link, theirs := os.NewFile(uintptr(fds[0]), "agent-link"), os.NewFile(uintptr(fds[1]), "rank-link")
	files = append(files, link, theirs)
	cmd.Stdout, cmd.Stderr = outW, errW
	cmd.ExtraFiles = []*os.File{theirs} // fd 3: rendezvous.AgentFDEnv
	var stdin io.WriteCloser
	if rs.Rank == 0 {
		if stdin, err = cmd.StdinPipe(); err != nil {
			return err
		}
	}
	if rs.CPUs != "" {
		// Bind before exec: the child inherits the affinity of the
		// thread that forks it, which is this locked thread.
		if err := bindThread(rs.CPUs); err != nil {
			return fmt.Errorf("binding rank %d to CPUs %s: %w", rs.Rank, rs.CPUs, err)
		}
		defer unbindThread()
	}
	if err := cmd.Start(); err != nil {
		if errors.Is(err, os.ErrNotExist) && spec.StorePort != 0 {
			return fmt.Errorf("the program %s does not exist on this host (give its path there with --remote-program)", spec.Program)
		}
		return err
	}
	outW.Close()
	errW.Close()
	theirs.Close()
	pid := cmd.Process.Pid
	a.keeper.add(pid)
	rp := &rankProc{rank: rs.Rank, pid: pid, cmd: cmd, link: link, linkDone: make(chan struct{})}
	a.mu.Lock()
	a.procs[rs.Rank] = rp
	a.groups = append(a.groups, pid)
	if stdin != nil {
		a.stdin = newStdinQueue(stdin)
	}
	a.mu.Unlock()
	a.c.send(&message{Kind: msgStarted, Rank: rs.Rank, Pid: pid, Host: a.host, CPUs: rs.CPUs})
	a.running.Add(1)
	pipes := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	a.output.Add(2)
	go a.forward(rs.Rank, 1, outR, &wg)
	go a.forward(rs.Rank, 2, errR, &wg)
	go func() { wg.Wait(); close(pipes) }()
	go a.readLink(rp)
	exitAt := make(chan int64, 1)
	go func() {
		// Wait for the process itself, not for its pipes. A thread
		// blocked in waitExited (the zombie stays for cmd.Wait) also
		// notes when it ended far more precisely than the order in
		// which exits are reaped and reported: when several ranks fail
		// at once (one dies, its peers then see their links drop), the
		// head reports the one that ended first.
		waitExited(pid)
		exitAt <- time.Now().UnixNano()
	}()
	go func() {
		defer a.running.Done()
		at := <-exitAt
		// The rank's own last lines and link messages come before its
		// exit report, unless children keep the pipes open.
		deadline := time.Now().Add(drainWait)
		waitUntil(pipes, deadline)
		waitUntil(rp.linkDone, deadline)
		err := cmd.Wait()
		link.Close()
		rp.mu.Lock()
		phase := rp.phase
		rp.mu.Unlock()
		m := &message{Kind: msgExited, Rank: rs.Rank, Pid: pid, Host: a.host, At: at, Phase: phase}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				m.Sig = int(ws.Signal())
			} else {
				m.Code = ee.ExitCode()
			}
		} else if err != nil {
			m.Code = 1
			m.Err = err.Error()
		}
		a.mu.Lock()
		delete(a.procs, rs.Rank)
		if rs.Rank == 0 && a.stdin != nil {
			a.stdin.close()
		}
		a.mu.Unlock()
		a.c.send(m)
	}()
	return nil
}

// readLink follows a rank's agent link: its phases and heartbeats.
func (a *agent) readLink(rp *rankProc) {
	defer close(rp.linkDone)
	br := bufio.NewReaderSize(rp.link, rendezvous.MaxLinkLine)
	complained := false
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// Too long to be a message: skip to the next newline.
			for err == bufio.ErrBufferFull {
				_, err = br.ReadSlice('\n')
			}
			line, err = nil, fmt.Errorf("%w: a line longer than %d bytes", rendezvous.ErrBadLink, rendezvous.MaxLinkLine)
			if !complained {
				complained = true
				a.complain(rp, err)
			}
			continue
		}
		if err != nil {
			return
		}
		kind, arg, perr := rendezvous.ParseLink(line)
		if perr != nil {
			if !complained {
				complained = true
				a.complain(rp, perr)
			}
			continue
		}
		if kind == rendezvous.LinkState || kind == rendezvous.LinkStack || kind == rendezvous.LinkStats || kind == rendezvous.LinkTrace {
			a.answered(rp, kind, arg) // stall.go
			continue
		}
		now := time.Now()
		rp.mu.Lock()
		rp.last = now
		phase := rp.phase
		switch kind {
		case rendezvous.LinkInit:
			phase = phaseInit
			rp.commPid, _ = strconv.Atoi(arg)
		case rendezvous.LinkReady:
			phase = phaseReady
		case rendezvous.LinkClosed:
			phase = phaseClosed
		}
		changed := phase != rp.phase
		rp.phase = phase
		pid := rp.commPid
		rp.mu.Unlock()
		if changed {
			a.c.send(&message{Kind: msgPhase, Rank: rp.rank, Pid: pid, Code: phase, Host: a.host})
		}
	}
}

// complain reports (once per rank) a malformed message on a rank's link.
func (a *agent) complain(rp *rankProc, err error) {
	a.c.send(&message{Kind: msgOutput, Rank: rp.rank, Stream: 2,
		Data: []byte(fmt.Sprintf("gorun: rank %d on %s: ignoring its agent link: %v\n", rp.rank, a.host, err))})
}

func (a *agent) forward(rank, stream int, r *os.File, wg *sync.WaitGroup) {
	defer a.output.Done()
	defer wg.Done()
	defer r.Close()
	br := bufio.NewReaderSize(r, maxLine)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			a.c.send(&message{Kind: msgOutput, Rank: rank, Stream: stream, Data: line})
		}
		if err != nil && err != bufio.ErrBufferFull {
			return
		}
	}
}

// prepare completes a remote launch spec on this host: the working
// directory, and the addresses of the store and of this host's ranks.
func (a *agent) prepare(spec *launchSpec) error {
	if err := a.planBindings(spec); err != nil {
		return err
	}
	if spec.Dir != "" {
		if st, err := os.Stat(spec.Dir); err != nil || !st.IsDir() {
			if spec.DirRequired {
				return fmt.Errorf("the working directory %s does not exist on this host", spec.Dir)
			}
			spec.Dir, _ = os.UserHomeDir()
		}
	}
	if spec.StorePort == 0 {
		return nil
	}
	if _, err := os.Stat(spec.Program); err != nil {
		return fmt.Errorf("the program %s does not exist on this host (give its path there with --remote-program)", spec.Program)
	}
	headIP := spec.HeadIP
	if headIP == "" {
		headIP = a.opts.HeadIP
	}
	if headIP == "" {
		return errors.New("cannot tell gorun's address from this host (use --iface or --net)")
	}
	addr, err := LocalAddr(spec.Iface, spec.Net, headIP)
	if err != nil {
		return err
	}
	store := net.JoinHostPort(headIP, strconv.Itoa(spec.StorePort))
	env := spec.Env[:0:0]
	for _, kv := range spec.Env {
		switch {
		case strings.HasPrefix(kv, "GORUN_STORE="):
			kv = "GORUN_STORE=" + store
		case strings.HasPrefix(kv, "GORUN_ADDR="):
			kv = "GORUN_ADDR=" + addr
		}
		env = append(env, kv)
	}
	spec.Env = env
	return nil
}

// planBindings gives each of this host's ranks its CPU set, with Open MPI's
// meaning of --map-by and --bind-to, from this host's own topology. An
// explicit --bind-to that cannot be honoured is an error; the default
// (bind to cores when the ranks fit) quietly binds nothing if it cannot,
// as on a system without binding (affinity.Supported false: macOS,
// FreeBSD), where an explicit one fails with affinity.ErrUnsupported.
func (a *agent) planBindings(spec *launchSpec) error {
	if spec.BindTo == affinity.BindNone || len(spec.Ranks) == 0 {
		return nil
	}
	if !affinity.Supported {
		if spec.BindTo == "" {
			return nil
		}
		return fmt.Errorf("--bind-to %s on %s: %w", spec.BindTo, a.host, affinity.ErrUnsupported)
	}
	topo, err := topology.Detect()
	if err == nil {
		var sets []affinity.CPUSet
		if sets, err = affinity.Plan(topo, len(spec.Ranks), spec.MapBy, spec.BindTo); err == nil {
			for i := range spec.Ranks {
				rs := &spec.Ranks[i]
				if set := sets[rs.LocalRank]; len(set) > 0 {
					rs.CPUs, rs.Node = set.String(), topo.NUMANodeOf(set)
				}
			}
			return nil
		}
	}
	if spec.BindTo == "" {
		return nil
	}
	return fmt.Errorf("--bind-to %s on %s: %v", spec.BindTo, a.host, err)
}

// hasVar reports whether env sets name.
func hasVar(env []string, name string) bool {
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == name {
			return true
		}
	}
	return false
}
