package launcher

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorun-hpc/gorun/comm/rendezvous"
)

// Exit codes of a job that did not end on its own.
const (
	ExitTimeout = 124 // --timeout expired
	ExitFailure = 1   // the launcher itself failed
)

// Job describes one SPMD run. The zero value of every optional field works.
type Job struct {
	NP      int
	Program string   // an executable path (see Resolve for Go packages)
	Args    []string // the program's arguments
	// Env holds KEY=VALUE pairs added to every rank's environment (-x).
	Env []string
	// TagOutput prefixes each output line with its rank, as mpirun's
	// --tag-output: "[1,3]<stdout>:".
	TagOutput bool
	// Timeout ends the job (exit code ExitTimeout) when it runs longer.
	Timeout time.Duration
	// Addr is the IP address ranks and the rendezvous store listen on.
	// Default 127.0.0.1 (local mode).
	Addr string
	// MapBy and BindTo are --map-by and --bind-to (Open MPI's meaning; ""
	// for the defaults). Each host's agent plans its ranks' CPU sets from
	// its own topology.
	MapBy, BindTo string
	// ReportBindings prints each rank's binding before it starts.
	ReportBindings bool
	// Grace is how long ranks get to exit after the job fails before they
	// are sent SIGTERM, and again before SIGKILL. Default 1s.
	Grace time.Duration

	// HeartbeatTimeout is how long a rank that uses comm may stay silent
	// on its agent link (a stopped or frozen process) before it is
	// declared lost and the job fails: 0 means DefaultHeartbeatTimeout,
	// a negative value turns the watch off (for a debugger that stops a
	// rank).
	HeartbeatTimeout time.Duration

	Stdin          io.Reader // to rank 0; nil: none
	Stdout, Stderr io.Writer // default os.Stdout, os.Stderr
	// HandleSignals makes Run forward SIGINT and SIGTERM to every rank
	// (exit code 128+signal; a second one sends SIGKILL), and print a
	// report of what every rank is blocked in on SIGQUIT.
	HandleSignals bool
	// Observe configures stall and deadlock reports (stall.go).
	Observe Observe
}

// DefaultHeartbeatTimeout is the default of Job.HeartbeatTimeout and of
// Remote.HeartbeatTimeout.
const DefaultHeartbeatTimeout = 6 * time.Second

// Run runs the job in local mode: one agent, in this process, starts every
// rank on this machine. It returns the job's exit code: 0 when every rank
// exited 0; otherwise the first failing rank's code (128+signal if it was
// killed), ExitTimeout, or 128+signal when gorun itself was interrupted.
// The error explains a launcher failure (exit code ExitFailure).
func Run(ctx context.Context, job Job) (int, error) {
	h, err := newHead(job)
	if err != nil {
		return ExitFailure, err
	}
	if err := h.listen([]string{h.job.Addr}); err != nil {
		return ExitFailure, err
	}
	defer h.close()
	hostName, _ := os.Hostname()
	a, b := net.Pipe()
	agentDone := make(chan error, 1)
	go func() { agentDone <- RunAgent(context.Background(), b, hostName) }()
	ranks := make([]rankSpec, job.NP)
	over := "0"
	if job.NP > runtime.NumCPU() {
		over = "1"
	}
	for r := range ranks {
		ranks[r] = rankSpec{Rank: r, LocalRank: r, LocalSize: job.NP, Node: -1, Oversubscribed: over}
	}
	h.addAgent(hostName, a, &launchSpec{Inherit: true, Ranks: ranks})
	code := h.wait(ctx)
	h.close()
	<-agentDone
	return code, nil
}

// head is gorun's side of a job: the rendezvous store, the agents, and the
// bookkeeping that decides when the job is over and how it ended.
type head struct {
	job    Job
	secret []byte
	store  *rendezvous.Server
	stdout io.Writer
	stderr io.Writer
	outMu  sync.Mutex

	mu       sync.Mutex
	agents   []*agentLink
	pids     map[int]int
	hosts    map[int]string
	exited   int
	verdict  *verdict // how the job ended: the first failure wins
	events   chan struct{}
	doneAgts int

	// phase is the last phase each rank that uses comm reported;
	// preInit holds ranks that exited 0 without ever calling Init,
	// which fails the job if another rank waits in Init.
	phase   map[int]int
	preInit []failure
	remote  *Remote  // nil in local mode
	reapers []func() // wait for (or end) agent processes at the end
	obs     *observer
	obsOnce sync.Once
}

type agentLink struct {
	host string
	c    *conn

	// Remote agents only.
	remote bool
	ranks  string        // the host's ranks, for messages
	reap   func() string // why the agent's session ended ("" if unknown)
	done   chan struct{} // closed when the link is no longer served
	last   atomic.Int64  // when the agent was last heard from (UnixNano)
	mu     sync.Mutex
	reason string // why the head gave up on the link
}

func newHead(job Job) (*head, error) {
	if job.NP < 1 {
		return nil, fmt.Errorf("launcher: -np must be at least 1 (got %d)", job.NP)
	}
	if job.Grace <= 0 {
		job.Grace = time.Second
	}
	if job.HeartbeatTimeout == 0 {
		job.HeartbeatTimeout = DefaultHeartbeatTimeout
	}
	if job.Addr == "" {
		job.Addr = "127.0.0.1"
	}
	h := &head{job: job, stdout: job.Stdout, stderr: job.Stderr, pids: map[int]int{}, hosts: map[int]string{}, phase: map[int]int{}, events: make(chan struct{}, 1)}
	h.verdict = newVerdict(func(f failure, won bool) {
		if won {
			h.failJob(f)
		}
		h.notify()
	})
	if h.stdout == nil {
		h.stdout = os.Stdout
	}
	if h.stderr == nil {
		h.stderr = os.Stderr
	}
	h.secret = make([]byte, 32)
	if _, err := rand.Read(h.secret); err != nil {
		return nil, err
	}
	return h, nil
}

// listen starts the rendezvous store on the addresses ips (one port on
// each of them: the hosts reach gorun by different addresses when it has
// several networks).
func (h *head) listen(ips []string) error {
	ln, err := listenAll(ips)
	if err != nil {
		return fmt.Errorf("launcher: rendezvous listener: %w", err)
	}
	h.store = rendezvous.Serve(ln, h.secret, h.logf)
	return nil
}

func (h *head) logf(format string, args ...any) {
	h.outMu.Lock()
	defer h.outMu.Unlock()
	fmt.Fprintf(h.stderr, format+"\n", args...)
}

func (h *head) close() {
	h.mu.Lock()
	agents := h.agents
	h.mu.Unlock()
	for _, a := range agents {
		a.c.close()
	}
	if h.store != nil {
		h.store.Close()
	}
}

// rankEnv is the environment every rank gets from the head.
func (h *head) rankEnv() []string {
	env := []string{
		"GORUN_STORE=" + h.store.Addr(),
		"GORUN_SECRET=" + hex.EncodeToString(h.secret),
		"GORUN_ADDR=" + h.job.Addr,
	}
	return append(append(env, h.job.Env...), h.job.Observe.env()...)
}

// addAgent starts serving an agent reached over rw and sends it its ranks.
func (h *head) addAgent(host string, rw io.ReadWriteCloser, spec *launchSpec) {
	h.startLink(&agentLink{host: host, c: newConn(rw)}, spec)
}

func (h *head) serveAgent(al *agentLink, spec *launchSpec) {
	if al.done != nil {
		defer close(al.done)
	}
	if err := al.c.send(&message{Kind: msgLaunch, Launch: spec}); err != nil {
		h.agentLost(al, err)
		return
	}
	for {
		m, err := al.c.recv()
		if err != nil {
			h.agentLost(al, err)
			return
		}
		if al.remote {
			al.touch()
		}
		switch m.Kind {
		case msgOutput:
			h.output(m)
		case msgStarted:
			h.mu.Lock()
			h.pids[m.Rank] = m.Pid
			h.hosts[m.Rank] = m.Host
			h.mu.Unlock()
			if h.job.ReportBindings {
				if m.CPUs == "" {
					h.logf("gorun: rank %d on %s is not bound", m.Rank, m.Host)
				} else {
					h.logf("gorun: rank %d on %s bound to CPUs %s", m.Rank, m.Host, m.CPUs)
				}
			}
		case msgPhase:
			h.phaseMsg(m)
		case msgStates, msgStats, msgTrace, msgClock:
			h.observer().states(m) // stall.go, stats.go, trace.go
		case msgLost:
			// Its exit is counted when it is reported.
			h.failSoon(failure{at: m.At, rank: m.Rank, line: fmt.Sprintf("gorun: rank %d (pid %d)%s %s", m.Rank, m.Pid, h.where(m.Host), m.Err), code: ExitFailure}, false)
		case msgFailed:
			h.rankEnded(&failure{rank: m.Rank, line: fmt.Sprintf("gorun: rank %d could not be started on %s: %s", m.Rank, m.Host, m.Err), code: ExitFailure})
		case msgExited:
			h.exitedMsg(m)
		case msgDone:
			h.mu.Lock()
			h.doneAgts++
			h.mu.Unlock()
			h.notify()
			return
		}
	}
}

func (h *head) output(m *message) {
	w := h.stdout
	name := "stdout"
	if m.Stream == 2 {
		w = h.stderr
		name = "stderr"
	}
	line := m.Data
	if h.job.TagOutput {
		line = append([]byte(fmt.Sprintf("[1,%d]<%s>:", m.Rank, name)), line...)
	}
	if line[len(line)-1] != '\n' {
		line = append(line, '\n')
	}
	h.outMu.Lock()
	w.Write(line)
	h.outMu.Unlock()
}

func (h *head) exitedMsg(m *message) {
	where := h.where(m.Host)
	var msg string
	var code int
	switch {
	case m.Sig != 0:
		code = 128 + m.Sig
		msg = fmt.Sprintf("gorun: rank %d (pid %d)%s was killed by signal %d (%s)", m.Rank, m.Pid, where, m.Sig, signalName(m.Sig))
	case m.Code != 0:
		code = m.Code
		msg = fmt.Sprintf("gorun: rank %d (pid %d)%s exited with code %d", m.Rank, m.Pid, where, m.Code)
		if v, ok := h.store.Store().Lookup("aborted/" + strconv.Itoa(m.Rank)); ok {
			msg = fmt.Sprintf("gorun: rank %d (pid %d)%s called Abort(%s)", m.Rank, m.Pid, where, v)
		}
	case m.Phase == phaseInit || m.Phase == phaseReady:
		// mpirun's "exited improperly": its peers may still be talking
		// to it.
		code = ExitFailure
		msg = fmt.Sprintf("gorun: rank %d (pid %d)%s exited without calling Close", m.Rank, m.Pid, where)
	case m.Phase == phaseNone && h.job.NP > 1:
		// Fine for a program that never uses comm, unless another rank
		// waits for this one in Init.
		f := failure{at: m.At, rank: m.Rank, line: fmt.Sprintf("gorun: rank %d (pid %d)%s exited with code 0 before calling Init, while other ranks wait for it in Init", m.Rank, m.Pid, where), code: ExitFailure}
		h.mu.Lock()
		waiting := false
		for _, p := range h.phase {
			if p >= phaseInit {
				waiting = true
			}
		}
		if !waiting {
			h.preInit = append(h.preInit, f)
		}
		h.mu.Unlock()
		if waiting {
			h.failSoon(f, true)
		} else {
			h.rankEnded(nil)
		}
		return
	default:
		h.rankEnded(nil)
		return
	}
	h.failSoon(failure{at: m.At, rank: m.Rank, line: msg, code: code}, true)
}

// phaseMsg records a rank's phase. A rank entering Init while another has
// exited without calling it would wait for that one forever: the job fails,
// naming the rank that left.
func (h *head) phaseMsg(m *message) {
	h.mu.Lock()
	h.phase[m.Rank] = m.Code
	var gone []failure
	if m.Code == phaseInit {
		gone, h.preInit = h.preInit, nil
	}
	h.mu.Unlock()
	if len(gone) > 0 {
		f := gone[0] // its exit was counted when it was reported
		h.failSoon(f, false)
	}
}

// where names a rank's host in messages of jobs on several hosts.
func (h *head) where(host string) string {
	if host != "" && h.multiHost() {
		return " on " + host
	}
	return ""
}

// failSoon records a rank's failure (and counts its exit if exited) as a
// proposal to the verdict: it is decided failWindow later, as the one that
// happened first.
func (h *head) failSoon(f failure, exited bool) {
	if exited {
		h.mu.Lock()
		h.exited++
		h.mu.Unlock()
	}
	h.verdict.propose(f)
	h.notify()
}

// failJob acts on the failure that won the verdict: it reports it and
// aborts the job.
func (h *head) failJob(f failure) {
	h.logf("%s", f.line)
	h.abort(f.abortCause(), termThenKill(h.job.Grace, h.job.Grace))
}

func (h *head) multiHost() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.agents) > 1
}

func signalName(sig int) string {
	s := syscall.Signal(sig).String()
	switch syscall.Signal(sig) {
	case syscall.SIGKILL:
		return "SIGKILL"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGSEGV:
		return "SIGSEGV"
	case syscall.SIGABRT:
		return "SIGABRT"
	}
	return s
}

// rankEnded records a rank's end; a failure (f != nil) is decided at once
// (see verdict).
func (h *head) rankEnded(f *failure) {
	h.mu.Lock()
	h.exited++
	h.mu.Unlock()
	if f != nil && h.verdict.decide(*f) {
		h.failJob(*f)
	}
	h.notify()
}

func (h *head) agentLost(al *agentLink, err error) {
	h.mu.Lock()
	running := h.exited < h.job.NP
	h.mu.Unlock()
	// Why a remote agent was lost may take a moment to learn (its ssh
	// client's exit): it is asked only once the loss has won.
	if f := (failure{rank: -1, code: ExitFailure}); running && h.verdict.decide(f) {
		if al.remote {
			f.cause = fmt.Sprintf("lost host %s (ranks %s): %s", al.host, al.ranks, al.lostReason(err))
			f.line = "gorun: " + f.cause
		} else {
			f.line = fmt.Sprintf("gorun: lost the agent on %s: %v", al.host, err)
			f.cause = "lost the agent on " + al.host
		}
		h.verdict.explain(f)
		h.failJob(f)
	}
	al.c.close()
	h.mu.Lock()
	h.doneAgts++
	h.mu.Unlock()
	h.notify()
}

func (h *head) notify() {
	select {
	case h.events <- struct{}{}:
	default:
	}
}

// abort tells every rank that the job is over (their pending operations
// fail instead of hanging), then ends them with steps (see terminate).
func (h *head) abort(reason string, steps []killStep) {
	h.store.Store().Set(context.Background(), "abort", []byte(reason))
	h.tellAgents(&message{Kind: msgAbort, Err: reason})
	h.terminate(steps...)
}

// terminate escalates (terminate.go) against every rank of the job, from a
// goroutine of its own: each agent signals its ranks' process groups.
func (h *head) terminate(steps ...killStep) {
	go escalate(nil, h.signal, steps...)
}

// signal sends sig to every rank's process group, through the agents.
func (h *head) signal(sig syscall.Signal) {
	h.tellAgents(&message{Kind: msgSignal, Sig: int(sig)})
}

// tellAgents sends m to every agent.
func (h *head) tellAgents(m *message) {
	h.mu.Lock()
	agents := append([]*agentLink(nil), h.agents...)
	h.mu.Unlock()
	for _, a := range agents {
		a.c.send(m)
	}
}

// wait runs the job to its end and returns its exit code.
func (h *head) wait(ctx context.Context) int {
	var timeout <-chan time.Time
	if h.job.Timeout > 0 {
		t := time.NewTimer(h.job.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	var sigs chan os.Signal
	if h.job.HandleSignals {
		sigs = make(chan os.Signal, 4)
		signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
		defer signal.Stop(sigs)
	}
	if h.job.Stdin != nil {
		go h.forwardStdin()
	}
	defer h.observer().start()() // stall.go: stall and deadlock reports, SIGQUIT
	interrupted := 0
	for {
		h.mu.Lock()
		agentsDone := h.doneAgts >= len(h.agents)
		h.mu.Unlock()
		if code, _, open := h.verdict.result(); agentsDone && !open {
			return code
		}
		select {
		case <-h.events:
		case <-timeout:
			timeout = nil
			h.mu.Lock()
			left := h.job.NP - h.exited
			h.mu.Unlock()
			f := failure{rank: -1, code: ExitTimeout,
				line:  fmt.Sprintf("gorun: the job exceeded its time limit of %v; terminating %d running rank(s)", h.job.Timeout, left),
				cause: "the job exceeded its time limit of " + h.job.Timeout.String()}
			if h.verdict.impose(f) {
				h.logf("%s", f.line)
				h.observer().timedOut() // stall.go, stats.go: the report, the statistics
				h.abort(f.abortCause(), termThenKill(0, h.job.Grace))
			}
		case s := <-sigs:
			interrupted++
			sig := s.(syscall.Signal)
			f := failure{rank: -1, code: 128 + int(sig), line: "gorun: received " + signalName(int(sig)) + "; forwarding it to every rank"}
			h.verdict.decide(f)
			if interrupted == 1 {
				h.logf("%s", f.line)
				h.terminate(killStep{0, sig}, killStep{2 * h.job.Grace, syscall.SIGKILL})
			} else {
				escalate(nil, h.signal, killStep{0, syscall.SIGKILL})
			}
		case <-ctx.Done():
			h.verdict.impose(failure{rank: -1, code: ExitFailure, line: "gorun: " + ctx.Err().Error()})
			escalate(nil, h.signal, killStep{0, syscall.SIGKILL})
			ctx = context.Background()
		}
	}
}

func (h *head) forwardStdin() {
	buf := make([]byte, 32<<10)
	for {
		n, err := h.job.Stdin.Read(buf)
		if n > 0 {
			h.sendStdin(append([]byte(nil), buf[:n]...))
		}
		if err != nil {
			h.sendStdin(nil)
			return
		}
	}
}

func (h *head) sendStdin(data []byte) {
	h.mu.Lock()
	agents := append([]*agentLink(nil), h.agents...)
	h.mu.Unlock()
	// Only the agent that runs rank 0 has a stdin to write to; the others
	// ignore the message.
	for _, a := range agents {
		a.c.send(&message{Kind: msgStdin, Data: data})
	}
}
