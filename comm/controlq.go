package comm

import (
	"sync"

	"github.com/gorun-hpc/gorun/comm/internal/wire"
)

// controlQueue is a link's queue of control frames (credit, CTS, WITHDRAW,
// BYE ...), shared by every link type: a frame handler queues a control
// frame and returns at once, and one drainer goroutine at a time writes
// the queue, so no handler ever waits on a write. Every field is under
// cmu.
type controlQueue struct {
	cmu     sync.Mutex
	ctl     []wire.Header
	ctlBusy bool          // a drainer goroutine owns the queue
	ctlShut bool          // a Bye is queued: later control frames are dropped
	ctlIdle chan struct{} // closed when the drainer finishes (made by flushControl)
	ctlErr  error         // the write that failed, if one did
	ctlBuf  []byte        // a byte-stream drainer's encoding buffer
}

// encodeQueued encodes every queued frame, in order, into one buffer
// (reused by the next call) and empties the queue; for links that write
// a byte stream. The caller holds cmu and owns the buffer until its next
// call.
func (q *controlQueue) encodeQueued() []byte {
	b := q.ctlBuf[:0]
	for _, h := range q.ctl {
		b = append(b, zeroHeader[:]...)
		h.Encode(b[len(b)-wire.HeaderSize:])
	}
	q.ctl = q.ctl[:0]
	q.ctlBuf = b
	return b
}

// endDrain ends a drainer's turn; err is its failed write, if any (the
// rest of the queue is then dropped). The caller holds cmu; endDrain
// releases it.
func (q *controlQueue) endDrain(err error) {
	q.ctlBusy = false
	if err != nil {
		q.ctl = q.ctl[:0]
		if q.ctlErr == nil {
			q.ctlErr = err
		}
	}
	if q.ctlIdle != nil {
		close(q.ctlIdle)
		q.ctlIdle = nil
	}
	q.cmu.Unlock()
}

// flushControl waits until the control frames queued so far are written
// and returns the error of a write that failed, if any.
func (q *controlQueue) flushControl() error {
	q.cmu.Lock()
	if q.ctlBusy {
		if q.ctlIdle == nil {
			q.ctlIdle = make(chan struct{})
		}
		ch := q.ctlIdle
		q.cmu.Unlock()
		<-ch
		q.cmu.Lock()
	}
	err := q.ctlErr
	q.cmu.Unlock()
	return err
}

var zeroHeader [wire.HeaderSize]byte
