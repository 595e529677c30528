package comm

import (
	"context"
)

// Point-to-point calls accept ranks 0..Size()-1 and ProcNull (MPI_PROC_NULL)
// as peers, receives and probes AnySource too; tags 0..MaxTag, receives and
// probes AnyTag too. A rank or tag outside that is an error wrapping
// ErrInvalidRank or ErrInvalidTag (both wrap ErrInvalidArgument) that names
// the call, the value and the valid range; none of these calls panics for
// it. Calls that return a Request report it through the Request, completed
// at once with the error.

// procNullStatus is the Status of a receive or probe from ProcNull.
var procNullStatus = Status{Source: ProcNull, Tag: AnyTag}

// newSend makes the request of a send for call. A bad argument completes
// it at once with the error, and so does ProcNull, with none: the caller
// starts only a request that is not complete.
func (c *Comm) newSend(call string, buf []byte, dest, tag int) *Request {
	r := c.e.newRequest(c, kindSend)
	r.userPeer, r.userTag, r.call = dest, tag, call
	peer, err := c.peerOf(call, dest, false)
	var t int32
	if err == nil {
		t, err = c.checkTag(call, tag, false)
	}
	if err != nil || peer == ProcNull {
		r.finishPrivate(err)
		return r
	}
	r.ctx = c.ctx
	r.peer = peer
	r.tag = t
	r.buf = buf
	r.pollPeer.Store(int32(r.peer))
	return r
}

// newRecv is newSend for a receive; from ProcNull it completes at once
// with an empty Status whose Source is ProcNull and Tag AnyTag.
func (c *Comm) newRecv(call string, buf []byte, source, tag int, alloc bool) *Request {
	r := c.e.newRequest(c, kindRecv)
	r.userPeer, r.userTag, r.call = source, tag, call
	peer, err := c.peerOf(call, source, true)
	var t int32
	if err == nil {
		t, err = c.checkTag(call, tag, true)
	}
	if err != nil || peer == ProcNull {
		if err == nil {
			r.status = procNullStatus
		}
		r.finishPrivate(err)
		return r
	}
	r.ctx = c.ctx
	r.peer = peer
	r.tag = t
	r.buf = buf
	r.alloc = alloc
	r.pollPeer.Store(int32(r.peer))
	return r
}

func (c *Comm) isend(call string, buf []byte, dest, tag int) *Request {
	r := c.newSend(call, buf, dest, tag)
	if call[0] == 'I' && countOn.Load() {
		statsSent(c, call, len(buf), obsNow(), dest, tag, r.err) // observe_stats.go: --stats, --trace (r is still private)
	}
	if !r.fin.Load() {
		c.e.isend(r)
	}
	return r
}

func (c *Comm) irecv(call string, buf []byte, source, tag int, alloc bool) *Request {
	if call[0] == 'I' && countOn.Load() {
		statsCall(c, call, len(buf), obsNow()) // observe_stats.go: --stats, --trace
	}
	r := c.newRecv(call, buf, source, tag, alloc)
	if !r.fin.Load() {
		c.e.irecv(r)
	}
	return r
}

// IsendBytes starts sending buf to rank dest of c with tag. buf must not be
// modified until the request completes. A send to ProcNull completes at
// once and sends nothing. Errors, a bad rank or tag among them, are
// reported by the request.
func (c *Comm) IsendBytes(buf []byte, dest, tag int) *Request {
	return c.isend("IsendBytes", buf, dest, tag)
}

// TrySendBytes sends buf to rank dest of c with tag at once if it can: the
// message is no larger than Config.EagerLimit and the receiver's eager
// window has room. It then reports true, with the send's error (the peer
// is lost, for example), and buf may be reused. Otherwise it sends nothing
// and reports false: send with IsendBytes or Send instead. A message to
// the calling rank itself always reports false; one to ProcNull reports
// true and sends nothing. A bad rank or tag reports true with an error
// wrapping ErrInvalidRank or ErrInvalidTag.
//
// TrySendBytes never waits for the receiver, only, like every send, for
// room in the connection's socket buffer. It makes no Request, which is
// what it saves over IsendBytes and Wait on a small message. Messages sent
// with it keep MPI's order with every other send to the same rank. Safe for
// concurrent use.
func (c *Comm) TrySendBytes(buf []byte, dest, tag int) (bool, error) {
	return c.trySend("TrySendBytes", buf, dest, tag)
}

func (c *Comm) trySend(call string, buf []byte, dest, tag int) (bool, error) {
	dst, err := c.peerOf(call, dest, false)
	if err != nil {
		return true, err
	}
	t, err := c.checkTag(call, tag, false)
	if err != nil {
		return true, err
	}
	if dst == ProcNull {
		return true, nil
	}
	if dst == c.e.rank {
		return false, nil
	}
	done, err := c.e.sendNow(dst, c.ctx, t, buf)
	return done, opError("send to", dest, tag, err)
}

// IrecvBytes starts receiving into buf a message from rank source (or
// AnySource) with tag (or AnyTag). buf must not be read until the request
// completes. A receive from ProcNull completes at once with an empty
// Status whose Source is ProcNull. Errors, a bad rank or tag among them,
// are reported by the request.
func (c *Comm) IrecvBytes(buf []byte, source, tag int) *Request {
	return c.irecv("IrecvBytes", buf, source, tag, false)
}

// RecvAlloc receives a message of any size from source with tag into a new
// buffer of exactly the message's size. From ProcNull it returns an empty
// buffer and ProcNull's Status at once; a bad rank or tag is an error
// wrapping ErrInvalidRank or ErrInvalidTag.
func (c *Comm) RecvAlloc(ctx context.Context, source, tag int) ([]byte, Status, error) {
	return c.recvAlloc(ctx, "RecvAlloc", source, tag)
}

func (c *Comm) recvAlloc(ctx context.Context, call string, source, tag int) ([]byte, Status, error) {
	t0 := statsStart() // observe_stats.go: --stats, --trace
	r := c.irecv(call, nil, source, tag, true)
	st, err := waitOrCancel(ctx, r)
	statsRecvd(c, call, t0, st, err)
	if r.buf == nil && err == nil {
		return []byte{}, st, nil
	}
	return r.buf, st, err
}

// waitOrCancel waits for r; if ctx ends first it cancels r, and if r had
// already matched, waits for it to complete (the data is in flight, and the
// buffer must not be written after the call returns).
func waitOrCancel(ctx context.Context, r *Request) (Status, error) {
	st, err := r.Wait(ctx)
	if err == nil || ctx.Err() == nil {
		return st, err
	}
	if r.Cancel() {
		return Status{}, opError("wait for", r.userPeer, r.userTag, ctx.Err())
	}
	return r.Wait(context.Background())
}

// Isend starts sending buf to rank dest of c with tag, without encoding:
// the slice's memory is the message. buf must not be modified until the
// request completes. A send to ProcNull completes at once and sends
// nothing. Errors, a bad rank or tag among them (wrapping ErrInvalidRank
// or ErrInvalidTag), are reported by the request.
func Isend[T Elem](c *Comm, buf []T, dest, tag int) *Request {
	return c.isend("Isend", Bytes(buf), dest, tag)
}

// TrySend is TrySendBytes on a typed slice, without encoding.
func TrySend[T Elem](c *Comm, buf []T, dest, tag int) (bool, error) {
	return c.trySend("TrySend", Bytes(buf), dest, tag)
}

// Irecv starts receiving a message from rank source (or AnySource) with tag
// (or AnyTag) into buf. The message may be shorter than buf (Status.Bytes
// tells its size); a longer one fails with ErrTruncate. A receive from
// ProcNull completes at once with an empty Status whose Source is
// ProcNull. Errors, a bad rank or tag among them (wrapping ErrInvalidRank
// or ErrInvalidTag), are reported by the request.
func Irecv[T Elem](c *Comm, buf []T, source, tag int) *Request {
	return c.irecv("Irecv", Bytes(buf), source, tag, false)
}

// Send sends buf to rank dest of c with tag and returns when buf may be
// reused: at once for a small message (up to Config.EagerLimit), and once
// the receiver has taken a large one. If ctx ends before a large message
// was taken, the send is withdrawn. A send to ProcNull returns nil at
// once; a bad rank or tag is an error wrapping ErrInvalidRank or
// ErrInvalidTag.
func Send[T Elem](ctx context.Context, c *Comm, buf []T, dest, tag int) error {
	return c.send(ctx, "Send", Bytes(buf), dest, tag)
}

func (c *Comm) send(ctx context.Context, call string, buf []byte, dest, tag int) error {
	t0 := statsStart() // observe_stats.go: --stats, --trace
	err := c.send1(ctx, call, buf, dest, tag)
	statsSent(c, call, len(buf), t0, dest, tag, err)
	return err
}

func (c *Comm) send1(ctx context.Context, call string, buf []byte, dest, tag int) error {
	if done, err := c.trySend(call, buf, dest, tag); done {
		return err
	}
	r := c.isend(call, buf, dest, tag)
	_, err := waitOrCancel(ctx, r)
	release(r)
	return err
}

// Recv receives a message from rank source (or AnySource) with tag (or
// AnyTag) into buf and returns its status. If ctx ends before a message
// matched, the receive is withdrawn. From ProcNull it returns at once an
// empty Status whose Source is ProcNull; a bad rank or tag is an error
// wrapping ErrInvalidRank or ErrInvalidTag.
func Recv[T Elem](ctx context.Context, c *Comm, buf []T, source, tag int) (Status, error) {
	t0 := statsStart() // observe_stats.go: --stats, --trace
	r := c.irecv("Recv", Bytes(buf), source, tag, false)
	st, err := waitOrCancel(ctx, r)
	release(r)
	statsRecvd(c, "Recv", t0, st, err)
	return st, err
}

// Sendrecv sends sendbuf to dest and receives into recvbuf from source at
// once, so that pairs of ranks can exchange without deadlock. Either side
// may be ProcNull (a shift at the edge of a non-periodic grid). A bad rank
// or tag on either side is an error wrapping ErrInvalidRank or
// ErrInvalidTag (the receive's first).
func Sendrecv[T, U Elem](ctx context.Context, c *Comm, sendbuf []T, dest, sendtag int, recvbuf []U, source, recvtag int) (Status, error) {
	t0 := statsStart() // observe_stats.go: --stats, --trace
	rr := c.irecv("Sendrecv", Bytes(recvbuf), source, recvtag, false)
	sr := c.isend("Sendrecv", Bytes(sendbuf), dest, sendtag)
	st, err := waitOrCancel(ctx, rr)
	if _, serr := waitOrCancel(ctx, sr); err == nil {
		err = serr
	}
	statsSendrecv(c, t0, len(sendbuf)*SizeOf[T](), dest, sendtag, st, err)
	return st, err
}

// probeArgs checks a probe's source and tag for call.
func (c *Comm) probeArgs(call string, source, tag int) (int, int32, error) {
	src, err := c.peerOf(call, source, true)
	if err != nil {
		return 0, 0, err
	}
	t, err := c.checkTag(call, tag, true)
	return src, t, err
}

// Iprobe reports whether a message from source (or AnySource) with tag (or
// AnyTag) has arrived and can be received, and its status, without
// receiving it. A probe of ProcNull reports true at once with an empty
// Status whose Source is ProcNull; a bad rank or tag is an error wrapping
// ErrInvalidRank or ErrInvalidTag. A probe that finds nothing makes
// progress, as Request.Test does, so a loop of Iprobes needs no yield.
func (c *Comm) Iprobe(source, tag int) (Status, bool, error) {
	src, t, err := c.probeArgs("Iprobe", source, tag)
	if err != nil {
		return Status{}, false, err
	}
	if src == ProcNull {
		return procNullStatus, true, nil
	}
	st, ok, _, err := c.e.probe(c, c.ctx, src, t)
	if !ok && err == nil {
		// Like MPI_Iprobe, a probe that finds nothing makes progress.
		c.e.progress(src)
		st, ok, _, err = c.e.probe(c, c.ctx, src, t)
	}
	return st, ok, opError("probe", source, tag, err)
}

// Probe waits until a message from source (or AnySource) with tag (or
// AnyTag) can be received and returns its status, without receiving it.
// With several goroutines receiving the same source and tag, another may
// take the probed message first. A probe of ProcNull returns at once an
// empty Status whose Source is ProcNull; a bad rank or tag is an error
// wrapping ErrInvalidRank or ErrInvalidTag.
func (c *Comm) Probe(ctx context.Context, source, tag int) (Status, error) {
	if t0 := statsStart(); t0 != 0 {
		defer statsCall(c, "Probe", 0, t0) // observe_stats.go: --stats, --trace
	}
	src, t, err := c.probeArgs("Probe", source, tag)
	if err != nil {
		return Status{}, err
	}
	if src == ProcNull {
		return procNullStatus, nil
	}
	var obs obsToken = -2 // observe.go: recorded once the probe waits
	for {
		st, ok, ch, err := c.e.probe(c, c.ctx, src, t)
		if ok || err != nil {
			obsDone(obs)
			return st, opError("probe", source, tag, err)
		}
		if obs == -2 {
			obs = c.obsProbe("Probe", src, source, tag)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			obsDone(obs)
			return Status{}, opError("probe", source, tag, ctx.Err())
		}
	}
}
