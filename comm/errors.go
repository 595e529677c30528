package comm

import (
	"errors"
	"fmt"
)

// Sentinel errors for faults. Calls wrap them with the rank and tag involved;
// test with errors.Is. A call bounded by a context that ends returns an error
// for which errors.Is(err, context.DeadlineExceeded) (or context.Canceled)
// holds.
var (
	// ErrPeerLost: the connection to a rank broke (it crashed, was killed,
	// or its host became unreachable) before the operation completed.
	ErrPeerLost = errors.New("comm: peer lost")
	// ErrPeerFinalized: the rank closed its communicator; it will send
	// nothing more.
	ErrPeerFinalized = errors.New("comm: peer finalized")
	// ErrAborted: the launcher aborted the job (another rank failed or
	// called Abort), or this process lost contact with the launcher.
	ErrAborted = errors.New("comm: job aborted")
	// ErrClosed: the communicator was closed.
	ErrClosed = errors.New("comm: closed")
	// ErrTruncate: the message was longer than the receive buffer; the
	// buffer holds its first part and Status.Bytes its full size.
	ErrTruncate = errors.New("comm: message truncated")
	// ErrCanceled: the request was cancelled (by Cancel, or by the sender
	// cancelling a large send that this receive had matched).
	ErrCanceled = errors.New("comm: request canceled")
	// ErrDropped: Close discarded messages or requests: receives still
	// pending, large sends that no receive matched, messages that arrived
	// but were never received. Close's error names how many of each.
	ErrDropped = errors.New("comm: dropped at close")
	// ErrProtocol: a peer sent a frame that breaks the protocol; the link
	// was closed.
	ErrProtocol = errors.New("comm: protocol violation")
)

// Sentinel errors for bad arguments. A call that returns an error reports a
// rank, tag, root, count or length it cannot use as an error that wraps one
// of these, naming the call, the value and the valid range; it never
// panics for them. ErrInvalidRank and ErrInvalidTag both wrap
// ErrInvalidArgument, so errors.Is(err, ErrInvalidArgument) holds for every
// bad argument.
var (
	// ErrInvalidArgument: an argument is outside what the call accepts (a
	// count, a length, a root, an option).
	ErrInvalidArgument = errors.New("comm: invalid argument")
	// ErrInvalidRank: a rank (destination, source or root) is outside
	// [0, Size()) and is not one of the wildcards the call accepts
	// (AnySource for receives and probes, ProcNull for point to point).
	ErrInvalidRank = fmt.Errorf("%w: rank", ErrInvalidArgument)
	// ErrInvalidTag: a tag is outside 0..MaxTag and is not AnyTag where the
	// call accepts it.
	ErrInvalidTag = fmt.Errorf("%w: tag", ErrInvalidArgument)
)

// argError is a bad argument: its message names the call, the value and
// the valid range, and it wraps one of the sentinels above.
type argError struct {
	msg  string
	kind error
}

func (e *argError) Error() string { return e.msg }
func (e *argError) Unwrap() error { return e.kind }

func argErrorf(kind error, format string, args ...any) error {
	return &argError{msg: fmt.Sprintf(format, args...), kind: kind}
}

// opError adds the operation and its rank and tag to a fault. A bad
// argument's error names them already and is returned as it is.
func opError(op string, rank, tag int, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(*argError); ok {
		return err
	}
	switch {
	case rank == AnySource && tag == AnyTag:
		return fmt.Errorf("comm: %s any rank, any tag: %w", op, err)
	case rank == AnySource:
		return fmt.Errorf("comm: %s any rank, tag %d: %w", op, tag, err)
	case tag == AnyTag:
		return fmt.Errorf("comm: %s rank %d, any tag: %w", op, rank, err)
	}
	return fmt.Errorf("comm: %s rank %d tag %d: %w", op, rank, tag, err)
}
