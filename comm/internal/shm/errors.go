package shm

import "errors"

// Errors a Channel and a Segment report. They are wrapped with context
// (the call, the value found, the limit); compare with errors.Is. A wait
// that runs out of time wraps the context's error as well, so that
// errors.Is(err, context.DeadlineExceeded) holds.
var (
	// ErrInvalidArgument: a bad argument to Create, Open or Send (a ring
	// size that is not a power of two, a payload over the limit, ...).
	ErrInvalidArgument = errors.New("shm: invalid argument")
	// ErrNoSpace: the segment's memory could not be reserved at set-up
	// (a full or too small tmpfs, a memory cgroup limit). The caller
	// falls back to TCP; the segment is never mapped half-backed.
	ErrNoSpace = errors.New("shm: no space for the segment")
	// ErrUnsupported: this system cannot provide shared-memory channels
	// (not Linux, or a kernel without memfd_create).
	ErrUnsupported = errors.New("shm: not supported here")
	// ErrBadSegment: Open found something other than the segment its
	// Handle describes (wrong size, token, magic, owner or mode).
	ErrBadSegment = errors.New("shm: not the segment the handle names")
	// ErrCorrupt: the peer's side of the shared memory broke the ring's
	// rules (a bad length or kind, a sequence out of order, an index
	// going backwards or past the end, an acknowledgement for nothing).
	// The channel is unusable afterwards: every later call fails too.
	ErrCorrupt = errors.New("shm: corrupt ring")
	// ErrPeerDead: the peer process has exited (it may have been killed
	// in the middle of a message); nothing more will come from it.
	ErrPeerDead = errors.New("shm: peer process exited")
	// ErrPeerClosed: the peer closed its side of the channel and
	// everything it sent has been received.
	ErrPeerClosed = errors.New("shm: peer closed the channel")
	// ErrClosed: this side of the channel (or the segment) was closed.
	ErrClosed = errors.New("shm: channel closed")
)

// errWouldBlock is returned by the ring's wait hook when it must not wait
// (Poll, and the fuzz target).
var errWouldBlock = errors.New("shm: would block")
