package launcher

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"
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
	a := &agent{c: newConn(rw), host: host, procs: map[int]*exec.Cmd{}}
	return a.run(ctx)
}

type agent struct {
	c    *conn
	host string

	mu      sync.Mutex
	procs   map[int]*exec.Cmd // running ranks
	stdin   *stdinQueue       // rank 0's standard input, if here
	running sync.WaitGroup
	started bool
}

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
	var linkErr error
loop:
	for {
		select {
		case m, ok := <-msgs:
			if !ok {
				linkErr = <-rerr
				break loop
			}
			a.handle(m)
		case <-ctx.Done():
			linkErr = ctx.Err()
			break loop
		}
	}
	// The head is gone (or told us to stop by closing): no rank may outlive it.
	a.signalAll(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { a.running.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(KillGrace):
		a.signalAll(syscall.SIGKILL)
		<-done
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
		if a.started || m.Launch == nil {
			return
		}
		a.started = true
		a.launch(m.Launch)
	case msgSignal:
		a.signalAll(syscall.Signal(m.Sig))
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
	for _, cmd := range a.procs {
		// Each rank leads its own process group: signal the group, so
		// that whatever a rank started (a shell script's children) goes too.
		syscall.Kill(-cmd.Process.Pid, sig)
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
		if rs.CPUs != "" {
			env = append(env, "GORUN_CPUSET="+rs.CPUs)
			if rs.Node >= 0 {
				env = append(env, "GORUN_NUMA_NODE="+strconv.Itoa(rs.Node))
			}
		}
		errc := make(chan error, 1)
		starts <- func() { errc <- a.start(spec, rs, env) }
		if err := <-errc; err != nil {
			a.c.send(&message{Kind: msgFailed, Rank: rs.Rank, Err: err.Error(), Host: a.host})
		}
	}
	close(starts)
	go func() {
		a.running.Wait()
		a.c.send(&message{Kind: msgDone, Host: a.host})
	}()
}

func (a *agent) start(spec *launchSpec, rs rankSpec, env []string) error {
	cmd := exec.Command(spec.Program, spec.Args...)
	cmd.Env = env
	cmd.Dir = spec.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
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
		return err
	}
	a.mu.Lock()
	a.procs[rs.Rank] = cmd
	if stdin != nil {
		a.stdin = newStdinQueue(stdin)
	}
	a.mu.Unlock()
	a.c.send(&message{Kind: msgStarted, Rank: rs.Rank, Pid: cmd.Process.Pid, Host: a.host})
	a.running.Add(1)
	var pipes sync.WaitGroup
	pipes.Add(2)
	go a.forward(rs.Rank, 1, stdout, &pipes)
	go a.forward(rs.Rank, 2, stderr, &pipes)
	go func() {
		defer a.running.Done()
		pipes.Wait() // all output is forwarded before the exit is reported
		err := cmd.Wait()
		m := &message{Kind: msgExited, Rank: rs.Rank, Pid: cmd.Process.Pid, Host: a.host}
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

func (a *agent) forward(rank, stream int, r io.Reader, wg *sync.WaitGroup) {
	defer wg.Done()
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
