package comm

import (
	"context"
)

func (c *Comm) newSend(buf []byte, dest, tag int) *Request {
	r := c.e.newRequest(c, kindSend)
	r.ctx = c.ctx
	r.peer = c.worldOf(dest, "destination")
	r.tag = checkTag(tag, false, c.sys == nil)
	r.buf = buf
	r.userPeer, r.userTag = dest, tag
	r.pollPeer.Store(int32(r.peer))
	return r
}

func (c *Comm) newRecv(buf []byte, source, tag int, alloc bool) *Request {
	r := c.e.newRequest(c, kindRecv)
	r.ctx = c.ctx
	r.peer = c.worldOf(source, "source")
	r.tag = checkTag(tag, true, c.sys == nil)
	r.buf = buf
	r.alloc = alloc
	r.userPeer, r.userTag = source, tag
	r.pollPeer.Store(int32(r.peer))
	return r
}

// IsendBytes starts sending buf to rank dest of c with tag. buf must not be
// modified until the request completes.
func (c *Comm) IsendBytes(buf []byte, dest, tag int) *Request {
	r := c.newSend(buf, dest, tag)
	c.e.isend(r)
	return r
}

// TrySendBytes sends buf to rank dest of c with tag at once if it can: the
// message is no larger than Config.EagerLimit and the receiver's eager
// window has room. It then reports true, with the send's error (the peer
// is lost, for example), and buf may be reused. Otherwise it sends nothing
// and reports false: send with IsendBytes or Send instead. A message to
// the calling rank itself always reports false.
//
// TrySendBytes never waits for the receiver, only, like every send, for
// room in the connection's socket buffer. It makes no Request, which is
// what it saves over IsendBytes and Wait on a small message. Messages sent
// with it keep MPI's order with every other send to the same rank. Safe for
// concurrent use.
func (c *Comm) TrySendBytes(buf []byte, dest, tag int) (bool, error) {
	dst := c.worldOf(dest, "destination")
	t := checkTag(tag, false, c.sys == nil)
	if dst == c.e.rank {
		return false, nil
	}
	done, err := c.e.sendNow(dst, c.ctx, t, buf)
	return done, opError("send to", dest, tag, err)
}

// IrecvBytes starts receiving into buf a message from rank source (or
// AnySource) with tag (or AnyTag). buf must not be read until the request
// completes.
func (c *Comm) IrecvBytes(buf []byte, source, tag int) *Request {
	r := c.newRecv(buf, source, tag, false)
	c.e.irecv(r)
	return r
}

// RecvAlloc receives a message of any size from source with tag into a new
// buffer of exactly the message's size.
func (c *Comm) RecvAlloc(ctx context.Context, source, tag int) ([]byte, Status, error) {
	r := c.newRecv(nil, source, tag, true)
	c.e.irecv(r)
	st, err := waitOrCancel(ctx, r)
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
// request completes. Errors are reported by the request.
func Isend[T Elem](c *Comm, buf []T, dest, tag int) *Request {
	return c.IsendBytes(Bytes(buf), dest, tag)
}

// TrySend is TrySendBytes on a typed slice, without encoding.
func TrySend[T Elem](c *Comm, buf []T, dest, tag int) (bool, error) {
	return c.TrySendBytes(Bytes(buf), dest, tag)
}

// Irecv starts receiving a message from rank source (or AnySource) with tag
// (or AnyTag) into buf. The message may be shorter than buf (Status.Bytes
// tells its size); a longer one fails with ErrTruncate.
func Irecv[T Elem](c *Comm, buf []T, source, tag int) *Request {
	return c.IrecvBytes(Bytes(buf), source, tag)
}

// Send sends buf to rank dest of c with tag and returns when buf may be
// reused: at once for a small message (up to Config.EagerLimit), and once
// the receiver has taken a large one. If ctx ends before a large message
// was taken, the send is withdrawn.
func Send[T Elem](ctx context.Context, c *Comm, buf []T, dest, tag int) error {
	if done, err := TrySend(c, buf, dest, tag); done {
		return err
	}
	r := Isend(c, buf, dest, tag)
	_, err := waitOrCancel(ctx, r)
	release(r)
	return err
}

// Recv receives a message from rank source (or AnySource) with tag (or
// AnyTag) into buf and returns its status. If ctx ends before a message
// matched, the receive is withdrawn.
func Recv[T Elem](ctx context.Context, c *Comm, buf []T, source, tag int) (Status, error) {
	r := Irecv(c, buf, source, tag)
	st, err := waitOrCancel(ctx, r)
	release(r)
	return st, err
}

// Sendrecv sends sendbuf to dest and receives into recvbuf from source at
// once, so that pairs of ranks can exchange without deadlock.
func Sendrecv[T, U Elem](ctx context.Context, c *Comm, sendbuf []T, dest, sendtag int, recvbuf []U, source, recvtag int) (Status, error) {
	rr := Irecv(c, recvbuf, source, recvtag)
	sr := Isend(c, sendbuf, dest, sendtag)
	st, err := waitOrCancel(ctx, rr)
	if _, serr := waitOrCancel(ctx, sr); err == nil {
		err = serr
	}
	return st, err
}

// Iprobe reports whether a message from source (or AnySource) with tag (or
// AnyTag) has arrived and can be received, and its status, without
// receiving it.
func (c *Comm) Iprobe(source, tag int) (Status, bool, error) {
	src := c.worldOf(source, "source")
	t := checkTag(tag, true, c.sys == nil)
	st, ok, _, err := c.e.probe(c, c.ctx, src, t)
	return st, ok, opError("probe", source, tag, err)
}

// Probe waits until a message from source (or AnySource) with tag (or
// AnyTag) can be received and returns its status, without receiving it.
// With several goroutines receiving the same source and tag, another may
// take the probed message first.
func (c *Comm) Probe(ctx context.Context, source, tag int) (Status, error) {
	src := c.worldOf(source, "source")
	t := checkTag(tag, true, c.sys == nil)
	for {
		st, ok, ch, err := c.e.probe(c, c.ctx, src, t)
		if ok || err != nil {
			return st, opError("probe", source, tag, err)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return Status{}, opError("probe", source, tag, ctx.Err())
		}
	}
}
