package launcher

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Remote describes a job whose ranks run on several hosts, each served by
// one agent (the gorun binary in agent mode) that forks the host's ranks.
type Remote struct {
	// Launcher is "ssh" (one ssh per host) or "slurm" (one srun step with
	// one task per node; the agents dial back to gorun).
	Launcher string
	// Hosts lists the hosts that run ranks, with their ranks.
	Hosts []HostRanks
	// Exec is the command (and its arguments) that reaches a host; the
	// host name and the remote command are appended. Default DefaultSSH.
	Exec []string
	// Srun is the srun command and any extra arguments. Default "srun".
	Srun []string
	// Gorun is gorun's path on the hosts (default: this executable's path).
	Gorun string
	// Dir is the ranks' working directory; DirRequired makes a missing one
	// an error instead of falling back to the home directory.
	Dir         string
	DirRequired bool
	// Iface or Net pick the network the ranks and the store use: an
	// interface name, or a subnet in CIDR notation. By default the store
	// listens on every address and each host uses the address of its
	// route back to gorun.
	Iface, Net string
	// Heartbeat is the ping interval on agent links (default 1s);
	// HeartbeatTimeout is how long a silent link is tolerated (default 6s).
	Heartbeat, HeartbeatTimeout time.Duration
	// StartTimeout bounds how long the agents may take to come up
	// (default 60s).
	StartTimeout time.Duration
}

// HostRanks is one host of a Remote job and the ranks it runs.
type HostRanks struct {
	Name  string
	Ranks []RankPlace
}

// RankPlace is one rank's place on its host.
type RankPlace struct {
	Rank, LocalRank, LocalSize int
	Oversubscribed             bool
}

// DefaultSSH is the command that reaches a host when Remote.Exec is empty.
var DefaultSSH = []string{"ssh", "-x", "-T", "-o", "BatchMode=yes"}

// AgentKeyEnv carries the key agents started by srun authenticate with.
const AgentKeyEnv = "GORUN_AGENT_KEY"

// pendingAgent is a started agent whose hello has arrived.
type pendingAgent struct {
	host   string
	c      *conn
	headIP string // the head's address as the agent sees it
	local  bool   // runs in this process
	reap   func() string
}

// RunRemote runs the job on the hosts of r. Its results are those of Run.
func RunRemote(ctx context.Context, job Job, r Remote) (int, error) {
	if r.Heartbeat <= 0 {
		r.Heartbeat = time.Second
	}
	if r.HeartbeatTimeout <= 0 {
		r.HeartbeatTimeout = 6 * time.Second
	}
	if r.HeartbeatTimeout < 2*r.Heartbeat {
		r.HeartbeatTimeout = 2 * r.Heartbeat
	}
	if r.StartTimeout <= 0 {
		r.StartTimeout = 60 * time.Second
	}
	if len(r.Exec) == 0 {
		r.Exec = DefaultSSH
	}
	if len(r.Srun) == 0 {
		r.Srun = []string{"srun"}
	}
	if r.Gorun == "" {
		exe, err := os.Executable()
		if err != nil {
			return ExitFailure, err
		}
		r.Gorun = exe
	}
	if r.Dir == "" {
		r.Dir, _ = os.Getwd()
	}
	listenIP, err := LocalAddr(r.Iface, r.Net, "")
	if err != nil {
		return ExitFailure, err
	}
	job.Addr = listenIP
	if listenIP == "" {
		job.Addr = "0.0.0.0"
	}
	h, err := newHead(job)
	if err != nil {
		return ExitFailure, err
	}
	h.remote = &r
	defer h.close()
	if listenIP != "" {
		if err := h.listen([]string{listenIP}); err != nil {
			return ExitFailure, err
		}
	}

	start := time.Now()
	agents, err := h.startAgents(ctx, &r, listenIP)
	if err != nil {
		for _, a := range agents {
			if a != nil {
				a.c.close()
			}
		}
		h.reapAll()
		return ExitFailure, err
	}
	if os.Getenv("GORUN_DEBUG_STARTUP") != "" {
		h.logf("gorun: %d agents up in %v", len(agents), time.Since(start).Round(time.Millisecond))
	}
	headSeen := listenIP
	for _, a := range agents {
		if headSeen == "" && !a.local && a.headIP != "" {
			headSeen = a.headIP
		}
	}
	if headSeen == "" {
		headSeen = "127.0.0.1"
	}
	if h.store == nil {
		// The store listens only where the hosts reach gorun: the
		// addresses the remote agents saw gorun's connection come from,
		// loopback when every host is this machine, every address when
		// an agent could not tell.
		ips := storeAddrs(agents)
		if err := h.listen(ips); err != nil {
			for _, a := range agents {
				a.c.close()
			}
			h.reapAll()
			return ExitFailure, err
		}
		h.job.Addr = ips[0]
	}
	_, portStr, _ := net.SplitHostPort(h.store.Addr())
	port, _ := strconv.Atoi(portStr)
	for i, a := range agents {
		hr := r.Hosts[i]
		spec := &launchSpec{Inherit: true, Dir: r.Dir, DirRequired: r.DirRequired,
			StorePort: port, HeadIP: listenIP, Iface: r.Iface, Net: r.Net, HostLabel: hr.Name}
		if a.local {
			spec.HeadIP = headSeen
		}
		for _, p := range hr.Ranks {
			over := "0"
			if p.Oversubscribed {
				over = "1"
			}
			spec.Ranks = append(spec.Ranks, rankSpec{Rank: p.Rank, LocalRank: p.LocalRank, LocalSize: p.LocalSize, Node: -1, Oversubscribed: over})
		}
		al := &agentLink{host: hr.Name, c: a.c, remote: !a.local, reap: a.reap, ranks: rankList(hr.Ranks), done: make(chan struct{})}
		al.touch()
		h.startLink(al, spec)
	}
	code := h.wait(ctx)
	h.close()
	h.reapAll()
	if os.Getenv("GORUN_DEBUG_STARTUP") != "" {
		h.logf("gorun: job done after %v", time.Since(start).Round(time.Millisecond))
	}
	return code, nil
}

// storeAddrs returns the addresses the store listens on when no --iface or
// --net picks one.
func storeAddrs(agents []*pendingAgent) []string {
	var ips []string
	for _, a := range agents {
		if a.local {
			continue
		}
		if net.ParseIP(a.headIP) == nil {
			return []string{"0.0.0.0"}
		}
		if !slices.Contains(ips, a.headIP) {
			ips = append(ips, a.headIP)
		}
	}
	if len(ips) == 0 {
		return []string{"127.0.0.1"}
	}
	return ips
}

func rankList(ps []RankPlace) string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(p.Rank))
	}
	return b.String()
}

func (al *agentLink) touch() { al.last.Store(time.Now().UnixNano()) }

func (al *agentLink) silence() time.Duration {
	return time.Since(time.Unix(0, al.last.Load()))
}

// startLink sends an agent its ranks, serves it, and for a remote agent
// exchanges heartbeats and watches the link.
func (h *head) startLink(al *agentLink, spec *launchSpec) {
	h.mu.Lock()
	h.agents = append(h.agents, al)
	h.mu.Unlock()
	spec.Program = h.job.Program
	spec.Args = h.job.Args
	spec.Size = h.job.NP
	spec.Env = append(h.rankEnv(), spec.Env...)
	spec.MapBy, spec.BindTo = h.job.MapBy, h.job.BindTo
	if h.job.HeartbeatTimeout > 0 {
		spec.RankTimeout = int64(h.job.HeartbeatTimeout)
	}
	if al.remote {
		hb, limit := h.remote.Heartbeat, h.remote.HeartbeatTimeout
		go func() {
			t := time.NewTicker(hb)
			defer t.Stop()
			for {
				select {
				case <-al.done:
					return
				case <-t.C:
				}
				if s := al.silence(); s > limit {
					al.setReason(fmt.Sprintf("no heartbeat for %v (host unreachable or agent hung)", s.Round(100*time.Millisecond)))
					al.c.close()
					return
				}
				al.c.send(&message{Kind: msgPing})
			}
		}()
	}
	go h.serveAgent(al, spec)
}

func (al *agentLink) setReason(s string) {
	al.mu.Lock()
	if al.reason == "" {
		al.reason = s
	}
	al.mu.Unlock()
}

func (al *agentLink) lostReason(err error) string {
	al.mu.Lock()
	r := al.reason
	al.mu.Unlock()
	if r != "" {
		return r
	}
	if al.reap != nil {
		if s := al.reap(); s != "" {
			return s
		}
	}
	if errors.Is(err, io.EOF) {
		return "its connection closed"
	}
	return err.Error()
}

func (h *head) reapAll() {
	h.mu.Lock()
	fs := h.reapers
	h.reapers = nil
	h.mu.Unlock()
	var wg sync.WaitGroup
	for _, f := range fs {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	wg.Wait()
}

// startAgents starts one agent per host, in parallel, and waits until
// every one has said hello. agents[i] serves r.Hosts[i].
func (h *head) startAgents(ctx context.Context, r *Remote, listenIP string) ([]*pendingAgent, error) {
	ctx, cancel := context.WithTimeout(ctx, r.StartTimeout)
	defer cancel()
	agents := make([]*pendingAgent, len(r.Hosts))
	type result struct {
		i   int
		a   *pendingAgent
		err error
	}
	results := make(chan result, len(r.Hosts))
	var ln net.Listener
	var srunDone chan string
	key := make([]byte, 32)
	if r.Launcher == "slurm" {
		var err error
		ln, err = net.Listen("tcp", net.JoinHostPort(listenIP, "0"))
		if err != nil {
			return agents, fmt.Errorf("agent listener: %w", err)
		}
		defer ln.Close()
		copy(key, h.secret) // agents get the job's secret as their key: it reaches them only through srun's environment
		srunDone, err = h.startSrun(r, ln.Addr().(*net.TCPAddr).Port, key, listenIP)
		if err != nil {
			return agents, err
		}
		want := map[string]int{}
		for i, hr := range r.Hosts {
			want[hr.Name] = i
		}
		go h.acceptAgents(ctx, ln, key, want, results2(results, func(i int, a *pendingAgent, err error) result { return result{i, a, err} }))
	}
	for i, hr := range r.Hosts {
		if isLocalHost(hr.Name) {
			go func() {
				a, b := net.Pipe()
				done := make(chan struct{})
				go func() {
					RunAgentOptions(context.Background(), b, AgentOptions{Host: hr.Name, Hello: true})
					close(done)
				}()
				c := newAsyncConn(a)
				h.addReaper(func() { c.close(); <-done })
				p, err := waitHello(ctx, c, hr.Name)
				if p != nil {
					p.local = true
				}
				results <- result{i, p, err}
			}()
			continue
		}
		if r.Launcher == "slurm" {
			continue
		}
		go func() {
			p, err := h.startSSH(ctx, r, hr.Name)
			results <- result{i, p, err}
		}()
	}
	var errs []string
	for n := 0; n < len(r.Hosts); {
		select {
		case res := <-results:
			n++
			if res.err != nil {
				errs = append(errs, res.err.Error())
			} else if agents[res.i] != nil {
				errs = append(errs, fmt.Sprintf("two agents claim host %s", r.Hosts[res.i].Name))
			} else {
				agents[res.i] = res.a
			}
		case s := <-srunDone:
			srunDone = nil
			missing := []string{}
			for i, a := range agents {
				if a == nil && !isLocalHost(r.Hosts[i].Name) {
					missing = append(missing, r.Hosts[i].Name)
				}
			}
			if len(missing) > 0 {
				return agents, fmt.Errorf("srun ended before the agents on %s started: %s", strings.Join(missing, ","), s)
			}
		case <-ctx.Done():
			var missing []string
			for i, a := range agents {
				if a == nil {
					missing = append(missing, r.Hosts[i].Name)
				}
			}
			errs = append(errs, fmt.Sprintf("the agents on %s did not start within %v", strings.Join(missing, ","), r.StartTimeout))
			return agents, errors.New(strings.Join(errs, "; "))
		}
		if len(errs) > 0 {
			return agents, errors.New(strings.Join(errs, "; "))
		}
	}
	return agents, nil
}

func results2[T any](ch chan T, mk func(int, *pendingAgent, error) T) func(int, *pendingAgent, error) {
	return func(i int, a *pendingAgent, err error) { ch <- mk(i, a, err) }
}

func (h *head) addReaper(f func()) {
	h.mu.Lock()
	h.reapers = append(h.reapers, f)
	h.mu.Unlock()
}

// SSH start-up retries: a host whose sshd is not up yet (a container that
// starts after gorun's, as under the Kubeflow MPI Operator) is tried again
// after sshFirstRetry, doubling up to sshMaxRetry, until the agents' start
// timeout.
const (
	sshFirstRetry = 100 * time.Millisecond
	sshMaxRetry   = 2 * time.Second
)

// startSSH starts the agent of one host over ssh, retrying while ssh cannot
// reach the host (see sshFirstRetry).
func (h *head) startSSH(ctx context.Context, r *Remote, host string) (*pendingAgent, error) {
	delay := sshFirstRetry
	began := time.Now()
	for tries := 1; ; tries++ {
		p, retry, err := h.sshAttempt(ctx, r, host)
		if err == nil || !retry {
			return p, err
		}
		if tries == 1 {
			h.logf("gorun: %s is not reachable yet (%v); retrying until the start timeout (%v)", host, err, r.StartTimeout)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("cannot start the agent on %s: %v (tried %d times in %v)", host, err, tries, time.Since(began).Round(100*time.Millisecond))
		case <-t.C:
		}
		delay = min(2*delay, sshMaxRetry)
	}
}

// sshRetryable reports whether ssh's failure (its exit status 255 and last
// line) may go away by itself: the host is not up, not resolvable yet, or
// drops the connection. Refused authentication and host keys do not.
func sshRetryable(code int, last string) bool {
	if code != 255 {
		return false
	}
	for _, s := range []string{"Permission denied", "Host key verification failed", "REMOTE HOST IDENTIFICATION HAS CHANGED", "Bad configuration", "bad configuration"} {
		if strings.Contains(last, s) {
			return false
		}
	}
	return true
}

// sshAttempt starts the agent of one host over ssh once; the session's
// stdin and stdout carry the protocol (the job secret included), so nothing
// secret appears on any command line. retry says whether ssh failed in a
// way worth trying again. ssh's messages are printed once the agent is up,
// or in the error.
func (h *head) sshAttempt(ctx context.Context, r *Remote, host string) (_ *pendingAgent, retry bool, _ error) {
	prefix := "gorun: " + host + ": "
	cr, err := h.startCarrier(carrierSpec{argv: r.sshCommand(host), stdio: true, prefix: prefix, hold: true})
	if err != nil {
		return nil, false, fmt.Errorf("cannot start the agent on %s: %v", host, err)
	}
	// status is why the session ended, once it has; retryable says
	// whether ssh failed in a way worth trying again.
	status := func() (status string, retryable bool) {
		var ee *exec.ExitError
		switch err := cr.err; {
		case err == nil:
			return "", false
		case errors.As(err, &ee) && ee.ExitCode() == 127:
			return fmt.Sprintf("gorun is not at %s on %s (give its path there with --remote-gorun)", r.Gorun, host), false
		case errors.As(err, &ee) && ee.ExitCode() == 126:
			return fmt.Sprintf("%s on %s is not executable (give gorun's path there with --remote-gorun)", r.Gorun, host), false
		default:
			s := fmt.Sprintf("%s exited (%v)", r.Exec[0], err)
			last := cr.lastLine()
			if last != "" {
				s += ": " + last
			}
			return s, errors.As(err, &ee) && sshRetryable(ee.ExitCode(), last)
		}
	}
	// reap reports why the session ended, waiting a little for it to end.
	reap := func() string {
		if waitFor(cr.exited, time.Second) {
			return ""
		}
		s, _ := status()
		return s
	}
	c := newAsyncConn(cr.rw)
	h.addReaper(func() { cr.end(killStep{4 * time.Second, syscall.SIGKILL}) })
	p, err := waitHello(ctx, c, host)
	if err != nil {
		c.close()
		if s := reap(); s != "" {
			_, retryable := status()
			return nil, retryable && ctx.Err() == nil, fmt.Errorf("cannot start the agent on %s: %s", host, s)
		}
		return nil, false, fmt.Errorf("cannot start the agent on %s: %v", host, err)
	}
	cr.release()
	p.reap = reap
	p.host = host
	return p, false, nil
}

// startSrun starts one agent per node in one srun step. The agents dial
// back to port on this machine and prove they know key, which srun hands
// them in the environment.
func (h *head) startSrun(r *Remote, port int, key []byte, listenIP string) (chan string, error) {
	var nodes []string
	for _, hr := range r.Hosts {
		if !isLocalHost(hr.Name) {
			nodes = append(nodes, hr.Name)
		}
	}
	done := make(chan string, 1)
	if len(nodes) == 0 {
		return done, nil
	}
	cr, err := h.startCarrier(carrierSpec{
		argv:   r.srunCommand(nodes, net.JoinHostPort(listenIP, strconv.Itoa(port))),
		env:    []string{AgentKeyEnv + "=" + hex.EncodeToString(key)},
		prefix: "gorun: srun: ",
		// --cpu-bind=none where binding is off anyway.
		skip: func(line string) bool { return strings.Contains(line, "lacks support for cpu binding") },
	})
	if err != nil {
		return nil, fmt.Errorf("cannot run srun: %v", err)
	}
	go func() {
		<-cr.exited
		s := "srun exited"
		if cr.err != nil {
			s = fmt.Sprintf("srun failed (%v)", cr.err)
		}
		if last := cr.lastLine(); last != "" {
			s += ": " + last
		}
		done <- s
	}()
	h.addReaper(func() { cr.end(termThenKill(4*time.Second, 3*time.Second)...) })
	return done, nil
}

// acceptAgents accepts the agents that dial back, authenticates them and
// hands each to report with its host's index.
func (h *head) acceptAgents(ctx context.Context, ln net.Listener, key []byte, want map[string]int, report func(int, *pendingAgent, error)) {
	var mu sync.Mutex
	seen := map[string]bool{}
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			if err := authServer(c, key); err != nil {
				h.logf("gorun: refused an agent connection from %s: %v", c.RemoteAddr(), err)
				c.Close()
				return
			}
			if tc, ok := c.(*net.TCPConn); ok {
				tc.SetNoDelay(true)
			}
			ac := newAsyncConn(c)
			h.addReaper(func() { ac.close() })
			p, err := waitHello(ctx, ac, c.RemoteAddr().String())
			if err != nil {
				ac.close()
				return
			}
			mu.Lock()
			i, ok := want[p.host]
			dup := seen[p.host]
			seen[p.host] = true
			mu.Unlock()
			if !ok || dup {
				h.logf("gorun: an agent on unexpected host %q connected; ignoring it", p.host)
				ac.close()
				return
			}
			report(i, p, nil)
		}()
	}
}
