package launcher

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The start-up that ssh and srun share: the agent's command line, the
// carrier process (an ssh client per host, or one srun step for every
// host) with its stderr and exit status, its end, and the agent's hello
// (waitHello). What differs stays with each: ssh carries the protocol on
// the client's stdin and stdout and retries a host that is not up yet
// (startSSH); srun's agents dial back and authenticate (acceptAgents).

// agentArgs is the agent's command line on a host ("" for srun: each agent
// names itself).
func (r *Remote) agentArgs(host string) []string {
	return []string{r.Gorun, "agent", "--host", host, "--heartbeat", r.Heartbeat.String(), "--heartbeat-timeout", r.HeartbeatTimeout.String()}
}

// sshCommand is the command that starts host's agent over ssh: Exec, the
// host, and the agent's command line quoted for the remote shell.
func (r *Remote) sshCommand(host string) []string {
	var remote []string
	for _, a := range r.agentArgs(host) {
		remote = append(remote, shellQuote(a))
	}
	return append(append(append([]string{}, r.Exec...), host), "exec "+strings.Join(remote, " "))
}

// srunCommand is the srun step that starts one agent on each of nodes,
// which dial back to connect (host:port).
func (r *Remote) srunCommand(nodes []string, connect string) []string {
	n := strconv.Itoa(len(nodes))
	args := append(append([]string{}, r.Srun...),
		"--nodes="+n, "--ntasks="+n, "--ntasks-per-node=1", "--nodelist="+strings.Join(nodes, ","),
		"--kill-on-bad-exit=1", "--overlap", "--mpi=none", "--cpu-bind=none", "--input=none",
		"--job-name=gorun-agents")
	args = append(args, r.agentArgs("")...)
	return append(args, "--connect", connect)
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// carrierSpec describes a carrier process to start.
type carrierSpec struct {
	argv []string
	env  []string // added to this process's environment
	// stdio makes the carrier's stdin and stdout the agent's stream
	// (ssh); otherwise its stdout joins its stderr (srun).
	stdio bool
	// prefix starts each of its stderr lines when gorun prints them.
	prefix string
	// hold keeps its lines until release (ssh's messages are printed once
	// the agent is up, or go into the error).
	hold bool
	// skip drops lines, neither printed nor kept as the last.
	skip func(line string) bool
}

// carrier is a started carrier process, leading its own process group.
// Its methods are safe for concurrent use.
type carrier struct {
	h      *head
	prefix string
	cmd    *exec.Cmd
	rw     io.ReadWriteCloser // the agent's stream (stdio carriers); Close closes its stdin
	exited chan struct{}      // closed once it has been waited for
	err    error              // cmd.Wait's result, once exited is closed

	mu      sync.Mutex
	last    string   // its last line on stderr
	holding bool     // lines are kept until release
	held    []string // the lines kept
}

// startCarrier starts a carrier; h prints its stderr lines.
func (h *head) startCarrier(s carrierSpec) (*carrier, error) {
	cmd := exec.Command(s.argv[0], s.argv[1:]...)
	if s.env != nil {
		cmd.Env = append(os.Environ(), s.env...)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c := &carrier{h: h, prefix: s.prefix, cmd: cmd, exited: make(chan struct{}), holding: s.hold}
	var stdin io.WriteCloser
	var stdout io.ReadCloser
	var err error
	if s.stdio {
		if stdin, err = cmd.StdinPipe(); err != nil {
			return nil, err
		}
		if stdout, err = cmd.StdoutPipe(); err != nil {
			return nil, err
		}
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if !s.stdio {
		cmd.Stdout = cmd.Stderr
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	if s.stdio {
		c.rw = &pipeRW{r: stdout, w: stdin, close: func() error {
			stdin.Close()
			go escalate(c.exited, signalGroup(cmd.Process.Pid), killStep{3 * time.Second, syscall.SIGKILL})
			return nil
		}}
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			if s.skip != nil && s.skip(line) {
				continue
			}
			c.mu.Lock()
			c.last = line
			if c.holding {
				c.held = append(c.held, line)
				c.mu.Unlock()
				continue
			}
			c.mu.Unlock()
			h.logf("%s%s", s.prefix, line)
		}
		// Its last line is read before Wait closes the pipe.
		c.err = cmd.Wait()
		close(c.exited)
	}()
	return c, nil
}

// release prints the lines held so far, and every later line as it comes.
func (c *carrier) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, line := range c.held {
		c.h.logf("%s%s", c.prefix, line)
	}
	c.held, c.holding = nil, false
}

// lastLine returns its last line on stderr so far.
func (c *carrier) lastLine() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

// end waits for the carrier to exit, escalating with steps (terminate.go).
func (c *carrier) end(steps ...killStep) {
	escalate(c.exited, signalGroup(c.cmd.Process.Pid), steps...)
	<-c.exited
}

// waitHello reads an agent's first message, which must be its hello.
func waitHello(ctx context.Context, c *conn, host string) (*pendingAgent, error) {
	type hello struct {
		m   *message
		err error
	}
	ch := make(chan hello, 1)
	go func() {
		for {
			m, err := c.recv()
			if err == nil && m.Kind == msgPing {
				continue
			}
			ch <- hello{m, err}
			return
		}
	}()
	select {
	case h := <-ch:
		if h.err != nil {
			return nil, h.err
		}
		if h.m.Kind != msgHello {
			return nil, fmt.Errorf("the agent on %s sent %q before its hello", host, h.m.Kind)
		}
		return &pendingAgent{host: h.m.Host, c: c, headIP: string(h.m.Data)}, nil
	case <-ctx.Done():
		c.close()
		return nil, fmt.Errorf("the agent on %s did not answer", host)
	}
}

// pipeRW joins a child's stdout and stdin into one stream.
type pipeRW struct {
	r     io.ReadCloser
	w     io.WriteCloser
	close func() error
}

func (p *pipeRW) Read(b []byte) (int, error)  { return p.r.Read(b) }
func (p *pipeRW) Write(b []byte) (int, error) { return p.w.Write(b) }
func (p *pipeRW) Close() error                { return p.close() }
