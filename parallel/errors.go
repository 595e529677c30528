package parallel

import (
	"errors"
	"fmt"

	"github.com/gorun-hpc/gorun/comm"
)

// Sentinel errors of the package. Calls wrap them with context; test with
// errors.Is. Bad arguments wrap comm.ErrInvalidArgument (or
// comm.ErrInvalidRank for a rank), as everywhere in gorun.
var (
	// ErrShutdown: the executor was shut down; the task was not run, or
	// its result was dropped by a cancelling Shutdown.
	ErrShutdown = errors.New("parallel: executor shut down")
	// ErrNotClient: Submit or MapTasks was called on a rank that serves
	// the executor's tasks instead of submitting them.
	ErrNotClient = fmt.Errorf("%w: parallel: not the executor's client rank", comm.ErrInvalidArgument)
	// ErrUnknownFunc: a task named a function the serving rank has not
	// registered (the ranks run different binaries or registries).
	ErrUnknownFunc = errors.New("parallel: unknown task function")
	// ErrNoWorkers: every worker rank of the executor was lost.
	ErrNoWorkers = errors.New("parallel: no worker rank left")
	// ErrMalformed: a message of the package's protocol could not be
	// decoded; it was refused.
	ErrMalformed = errors.New("parallel: malformed message")
)

// ElementError is the error of a Map whose function failed: Index is the
// element's index in the input, Rank the rank that ran it. On that rank
// Err is the function's own error; on the other ranks it carries the same
// message (errors cross ranks as text). Every rank returns an
// *ElementError for the same element: the one with the smallest index
// among the elements that failed before the map ended.
type ElementError struct {
	Index int
	Rank  int
	Err   error
}

func (e *ElementError) Error() string {
	return fmt.Sprintf("parallel: element %d (on rank %d): %v", e.Index, e.Rank, e.Err)
}

func (e *ElementError) Unwrap() error { return e.Err }

// remoteError is an error that crossed ranks as text.
type remoteError struct{ msg string }

func (e *remoteError) Error() string { return e.msg }

func invalid(call, format string, args ...any) error {
	return fmt.Errorf("parallel: %s: %w: %s", call, comm.ErrInvalidArgument, fmt.Sprintf(format, args...))
}

func invalidRank(call, what string, r, size int) error {
	return fmt.Errorf("parallel: %s: %w: %s %d not in [0, %d)", call, comm.ErrInvalidRank, what, r, size)
}

func errMalformedf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// ErrShuffleFailed: another rank's part of a streaming shuffle failed (its
// emit callback or its dest function), so this rank's ended too.
var ErrShuffleFailed = errors.New("parallel: shuffle failed")
