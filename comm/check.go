package comm

import (
	"context"
	"fmt"
	"sync/atomic"
)

// Collective checking: what package collectives needs from a communicator
// to make every rank agree on each collective call before it runs (see
// Config.Check).

// Checking reports whether full collective checking is on for c
// (Config.Check, GORUN_CHECK=1). It is fixed for the life of the process's
// world and the communicators derived from it. Safe for concurrent use.
func (c *Comm) Checking() bool { return c.e.cfg.Check == On }

// CheckState is what a collective check compares besides the call itself:
// where the call stands in its communicator's sequence of collectives.
type CheckState struct {
	// Seq is the number of collective operations started on the
	// communicator (Collective calls), including the one being checked
	// when the caller has already started it.
	Seq uint32
	// Children is the number of Dup, Split and Create calls made on the
	// communicator: they are collective too, and a rank that made one
	// more than the others would give its later children other
	// contexts.
	Children uint64
	// Name names the communicator the same way on every member: "world",
	// or "comm" and its context id.
	Name string
}

// CheckState returns c's CheckState. Safe for concurrent use; the numbers
// are those of the moment of the call.
func (c *Comm) CheckState() CheckState {
	name := "world"
	if c != c.world() {
		name = fmt.Sprintf("comm %08x", uint32(c.ctx>>1))
	}
	return CheckState{Seq: c.collSeq.Load(), Children: c.childSeq.Load(), Name: name}
}

// SplitCheck is the check Split (and so Create) runs first when c has
// checking on, with sys c's collective view (see Collective; the check
// must not call Collective, which Split's own exchange then does): it
// returns an error wrapping the checker's sentinel when the ranks of c
// disagree on the call. Package collectives installs it.
type SplitCheck func(ctx context.Context, c, sys *Comm) error

var splitCheck atomic.Pointer[SplitCheck]

// SetSplitCheck installs fn as the check of Split and Create on
// communicators with checking on (nil: none). Safe for concurrent use; a
// Split already running keeps the check it started with.
func SetSplitCheck(fn SplitCheck) {
	if fn == nil {
		splitCheck.Store(nil)
		return
	}
	splitCheck.Store(&fn)
}

// checkSplit runs the installed SplitCheck when c has checking on.
func (c *Comm) checkSplit(ctx context.Context) error {
	if !c.Checking() {
		return nil
	}
	if fn := splitCheck.Load(); fn != nil {
		return (*fn)(ctx, c, c.sys)
	}
	return nil
}
