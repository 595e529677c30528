package comm

import (
	"context"
)

// Synchronous sends (MPI_Ssend, MPI_Issend). A synchronous send always
// takes the rendezvous path, whatever its size: it announces the message
// (RTS) and moves the payload only when the receiver's CTS says a receive
// has matched it, so completion proves the match; to the calling rank
// itself it is queued as an announcement, as a large send to self is,
// and completes when a receive takes it. The engine hooks: isend skips
// sendNow and sendSelf skips the eager copy for kindSsend.

// kindSsend marks a synchronous send; everywhere else it is a send.
const kindSsend reqKind = 0x81

// IssendBytes starts a synchronous send of buf to rank dest of c with
// tag (MPI_Issend): the request completes only once the receiver has
// matched the message with a receive, whatever its size, and buf must not
// be modified until then. Cancel withdraws it while the receiver has not
// matched it. A send to ProcNull completes at once. Errors (a lost peer;
// a bad rank or tag, wrapping ErrInvalidRank or ErrInvalidTag) are
// reported by the request. Safe for concurrent use.
func (c *Comm) IssendBytes(buf []byte, dest, tag int) *Request {
	r := c.issend("Issend", buf, dest, tag)
	if countOn.Load() {
		statsSent(c, "Issend", len(buf), obsNow(), dest, tag, nil) // observe_stats.go: --stats, --trace
	}
	return r
}

func (c *Comm) issend(call string, buf []byte, dest, tag int) *Request {
	r := c.newSend(call, buf, dest, tag)
	r.kind = kindSsend
	if !r.fin.Load() {
		c.e.isend(r)
	}
	return r
}

// Issend is IssendBytes on a typed slice, without encoding (MPI_Issend).
func Issend[T Elem](c *Comm, buf []T, dest, tag int) *Request {
	return c.IssendBytes(Bytes(buf), dest, tag)
}

// Ssend sends buf to rank dest of c with tag and returns once the receiver
// has matched it (MPI_Ssend), whatever its size: unlike Send, it never
// completes on buffering alone. If ctx ends first and the receiver has
// not matched the message, the send is withdrawn.
func Ssend[T Elem](ctx context.Context, c *Comm, buf []T, dest, tag int) error {
	t0 := statsStart() // observe_stats.go: --stats, --trace
	r := c.issend("Ssend", Bytes(buf), dest, tag)
	_, err := waitOrCancel(ctx, r)
	statsSent(c, "Ssend", len(buf)*SizeOf[T](), t0, dest, tag, err)
	return err
}
