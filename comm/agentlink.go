package comm

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorun-hpc/gorun/comm/rendezvous"
)

// The rank's end of its agent link (see comm/rendezvous/agentlink.go): it
// tells the gorun agent that started this process when Init starts and
// ends and when Close has finished, beats while the process runs (a
// stopped or frozen process stops beating, and the agent declares it
// lost), and hears the job's abort while Init still waits for the other
// ranks. A process started without an agent has no link; every method is
// a no-op on a nil *agentLink.
type agentLink struct {
	f        *os.File
	wmu      sync.Mutex
	interval time.Duration
	stop     chan struct{}
	stopOnce sync.Once

	mu     sync.Mutex
	inInit bool
	cancel context.CancelCauseFunc // of Init's context while it runs
	world  *Comm                   // the communicator Init returned
}

// linkWriteTimeout bounds one write to the agent: a link the agent no
// longer reads must not hold up Close.
const linkWriteTimeout = 2 * time.Second

// theLink is the process's agent link, opened by the first Init.
var (
	theLinkOnce sync.Once
	theLink     atomic.Pointer[agentLink]
)

// openAgentLink opens the link named in the environment (once per
// process), says that Init starts and starts the heartbeat. It removes the
// link from the environment and from the files a child process inherits.
func openAgentLink() *agentLink {
	theLinkOnce.Do(func() {
		v, ok := os.LookupEnv(rendezvous.AgentFDEnv)
		if !ok {
			return
		}
		os.Unsetenv(rendezvous.AgentFDEnv)
		fd, err := strconv.Atoi(v)
		if err != nil || fd < 3 {
			return
		}
		syscall.CloseOnExec(fd)
		if syscall.SetNonblock(fd, true) != nil {
			return
		}
		l := &agentLink{f: os.NewFile(uintptr(fd), "gorun-agent-link"), stop: make(chan struct{})}
		if d, err := time.ParseDuration(os.Getenv(rendezvous.HeartbeatEnv)); err == nil && d > 0 {
			l.interval = d
		}
		os.Unsetenv(rendezvous.HeartbeatEnv)
		if l.send(rendezvous.LinkInit, strconv.Itoa(os.Getpid())) != nil {
			l.f.Close()
			return
		}
		l.inInit = true
		go l.read()
		if l.interval > 0 {
			go l.beat()
		}
		theLink.Store(l)
	})
	return theLink.Load()
}

func (l *agentLink) send(kind rendezvous.LinkKind, arg string) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	l.f.SetWriteDeadline(time.Now().Add(linkWriteTimeout))
	_, err := l.f.Write(rendezvous.FormatLink(kind, arg))
	return err
}

func (l *agentLink) beat() {
	t := time.NewTicker(l.interval)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			if l.send(rendezvous.LinkBeat, "") != nil {
				return
			}
		}
	}
}

// read serves what the agent says: an abort fails a pending Init; a query
// is answered with what the rank is blocked in.
func (l *agentLink) read() {
	sc := bufio.NewScanner(l.f)
	sc.Buffer(make([]byte, 0, 256), rendezvous.MaxLinkLine)
	for sc.Scan() {
		kind, arg, err := rendezvous.ParseLink(sc.Bytes())
		if err == nil && kind == rendezvous.LinkQuery {
			l.answer(arg) // observe.go
			continue
		}
		if err != nil || kind != rendezvous.LinkAbort {
			continue // nothing else is meant for a rank
		}
		l.mu.Lock()
		if l.cancel != nil {
			l.cancel(fmt.Errorf("%w: %s", ErrAborted, arg))
		}
		l.inInit = false
		l.mu.Unlock()
	}
}

// starting returns the context Init connects under: the agent's abort
// cancels it.
func (l *agentLink) starting() (context.Context, context.CancelFunc) {
	if l == nil {
		return context.Background(), func() {}
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	l.mu.Lock()
	if !l.inInit {
		// The abort came before Init did.
		cancel(fmt.Errorf("%w: the job was aborted before this rank's Init", ErrAborted))
	}
	l.cancel = cancel
	l.mu.Unlock()
	return ctx, func() {
		l.mu.Lock()
		l.cancel = nil
		l.mu.Unlock()
		cancel(nil)
	}
}

// started reports Init's outcome: a communicator, or err (the job's abort
// when that is what stopped Init).
func (l *agentLink) started(ctx context.Context, rank int, w *Comm, err error) error {
	if l == nil {
		return err
	}
	if err != nil {
		if cause := context.Cause(ctx); cause != nil && cause != ctx.Err() {
			return fmt.Errorf("comm: rank %d: %w", rank, cause)
		}
		return err
	}
	l.mu.Lock()
	l.world = w
	l.mu.Unlock()
	statsBegin.Store(obsNow()) // observe_stats.go: a rank's wall time starts here
	l.send(rendezvous.LinkReady, "")
	return nil
}

// closed tells the agent that Close of w, the communicator Init returned,
// has finished, and stops the heartbeat.
func (l *agentLink) closed(w *Comm) {
	if l == nil {
		return
	}
	l.mu.Lock()
	mine := l.world == w
	l.mu.Unlock()
	if !mine {
		return
	}
	l.stopOnce.Do(func() {
		close(l.stop)
		l.sendStats() // observe_stats.go: with gorun --stats
		l.send(rendezvous.LinkClosed, "")
	})
}
