package parallel

import (
	"context"
	"runtime"
	"sync"

	"github.com/gorun-hpc/gorun/comm"
)

// An outbox batches the frames bound for one rank: put appends a frame
// and wakes the outbox's sender goroutine, which sends everything queued
// as one message. While the sender is busy in a send, or until the
// goroutines ahead of it in the scheduler have run, frames pile up and go
// together: a worker answering 64 tiny tasks sends a few messages, not
// 64. The goroutine exits after sending a frame put as the last one, when
// a send fails (after calling onErr) or when ctx ends.
type outbox struct {
	ctx   context.Context
	c     *comm.Comm
	dest  int
	onErr func(error)

	mu      sync.Mutex
	buf     []byte
	scratch []byte
	final   bool
	wake    chan struct{}
	done    chan struct{}
}

func newOutbox(ctx context.Context, c *comm.Comm, dest int, onErr func(error)) *outbox {
	o := &outbox{ctx: ctx, c: c, dest: dest, onErr: onErr, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go o.run()
	return o
}

// put queues f; last marks it the final frame. It reports false (and
// queues nothing) after a final frame.
func (o *outbox) put(f *frame, last bool) bool {
	o.mu.Lock()
	if o.final {
		o.mu.Unlock()
		return false
	}
	o.buf, o.scratch = appendFramed(o.buf, o.scratch, f)
	o.final = last
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
	return true
}

func (o *outbox) run() {
	defer close(o.done)
	var spare []byte
	for {
		select {
		case <-o.wake:
		case <-o.ctx.Done():
			return
		}
		// A put readies this goroutine to run next, ahead of the
		// goroutines about to put more (the other tasks of a batch, the
		// submitter): let them run first, so that their frames go in
		// this message.
		runtime.Gosched()
		for {
			o.mu.Lock()
			b, final := o.buf, o.final
			if len(b) == 0 {
				o.mu.Unlock()
				if final {
					return
				}
				break
			}
			// Swap buffers: b goes out, the one sent last takes new frames.
			o.buf = spare[:0]
			o.mu.Unlock()
			if err := comm.Send(o.ctx, o.c, b, o.dest, tagExec); err != nil {
				o.onErr(err)
				return
			}
			spare = b
		}
	}
}
