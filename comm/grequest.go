package comm

import (
	"fmt"
	"sync/atomic"
)

// kindGeneral marks a request that code outside the engine completes (see
// StartRequest). The engine never matches, cancels or polls it.
const kindGeneral reqKind = 0x80

// StartRequest returns a pending Request of c and the function that
// completes it, for operations that package code runs itself, such as
// package collectives' non-blocking collectives (MPI_Grequest_start and
// MPI_Grequest_complete). The request works with Wait, Test, Done, WaitAll
// and WaitAny like any other, so it can be waited on together with
// point-to-point requests; Wait and Test return the error passed to
// complete, unwrapped, and an empty Status. Cancel reports false: the
// operation is the caller's to stop. complete may be called from any
// goroutine; only its first call counts. Once the request has completed
// it may be Freed like the others.
func StartRequest(c *Comm) (r *Request, complete func(error)) {
	r = c.e.newRequest(c, kindGeneral)
	r.pollPeer.Store(int32(c.e.rank)) // nothing to poll: pollPeer returns at once
	var once atomic.Bool
	return r, func(err error) {
		if once.CompareAndSwap(false, true) {
			r.finish(Status{}, err)
		}
	}
}

// waitError is the error of a Wait on r whose ctx ended first.
func (r *Request) waitError(err error) error {
	if r.kind == kindGeneral {
		return fmt.Errorf("comm: wait: %w", err)
	}
	return opError("wait for", r.userPeer, r.userTag, err)
}
