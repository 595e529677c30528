package launcher

import (
	"strings"
	"sync"
	"time"
)

// failWindow is how long a verdict waits, after the first failure that
// may have been caused by an earlier one arrives, for that earlier one.
const failWindow = 150 * time.Millisecond

// failure is one reason for a job to fail.
type failure struct {
	at   int64  // when it happened (UnixNano; 0: unknown)
	rank int    // the rank that failed; -1 for the job as a whole
	line string // the line gorun prints, "gorun: ..."
	code int    // the job's exit code if this failure wins
	// cause is what the ranks are told when this failure wins (their
	// calls fail with comm.ErrAborted and it); "" means line without its
	// "gorun: ".
	cause string
}

// abortCause is what the ranks are told when f wins.
func (f failure) abortCause() string {
	if f.cause != "" {
		return f.cause
	}
	return strings.TrimPrefix(f.line, "gorun: ")
}

// verdict decides how a job ended; it is the one place that does. The
// first failure wins: it is the one gorun reports, its cause is what every
// rank is told, and its code is the job's exit code. Later failures are
// consequences (peers that lost the failed rank, ranks killed in the
// teardown) and are not reported.
//
// Failures reach a verdict two ways:
//   - decide: a failure nothing can have caused before it (a rank that
//     could not be started, a lost agent, gorun interrupted) wins at once
//     unless the verdict is already decided.
//   - propose: a rank's failure that may be the consequence of another
//     rank's, reported later (a rank dies, its peers see their links drop
//     and exit too, and their exits may arrive first). The first proposal
//     opens a window of failWindow; when it closes, the proposal that
//     happened first (failure.at; those with an unknown time lose) wins,
//     unless something was decided meanwhile.
//
// impose is for the job's own limits (its time limit, the caller's
// context): it decides like decide, and when the verdict is already
// decided it replaces the exit code, so a job that is still tearing down
// when its time runs out exits ExitTimeout.
//
// A verdict is safe for concurrent use. settled runs once per window, when
// it closes, from a goroutine of its own and with no lock held: with the
// winner (won true) when the window decided the verdict, with won false
// when it decided nothing (something had been decided before).
type verdict struct {
	settled func(f failure, won bool)

	mu      sync.Mutex
	decided bool
	first   failure   // the winner, once decided
	code    int       // the job's exit code: 0 until decided
	pending []failure // proposals of the open window
}

func newVerdict(settled func(f failure, won bool)) *verdict {
	return &verdict{settled: settled}
}

// decide makes f the verdict unless one was decided already; it reports
// whether f won. The caller acts on a win (reports f, aborts the job).
func (v *verdict) decide(f failure) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.decided {
		return false
	}
	v.decided, v.first, v.code = true, f, f.code
	return true
}

// explain completes the winner's description, for a failure that won
// decide before its line could be written (finding its cause takes time,
// and it must not lose the race meanwhile). f must be the winner.
func (v *verdict) explain(f failure) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.first = f
}

// impose is decide for the job's limits: it reports whether f won, and
// sets the exit code to f's either way.
func (v *verdict) impose(f failure) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	won := !v.decided
	if won {
		v.decided, v.first = true, f
	}
	v.code = f.code
	return won
}

// propose adds f to the current window, opening one if none is open; an
// already decided verdict ignores it.
func (v *verdict) propose(f failure) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.decided {
		return
	}
	v.pending = append(v.pending, f)
	if len(v.pending) == 1 {
		time.AfterFunc(failWindow, v.closeWindow)
	}
}

func (v *verdict) closeWindow() {
	v.mu.Lock()
	cands := v.pending
	v.pending = nil
	won := !v.decided && len(cands) > 0
	var first failure
	if won {
		first = cands[0]
		for _, c := range cands[1:] {
			if c.at != 0 && (first.at == 0 || c.at < first.at) {
				first = c
			}
		}
		v.decided, v.first, v.code = true, first, first.code
	}
	v.mu.Unlock()
	v.settled(first, won)
}

// failed reports whether the verdict is decided (the job failed or was
// ended).
func (v *verdict) failed() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.decided
}

// result returns the job's exit code (0 while nothing is decided), the
// winning failure, and whether a window is open (the verdict may still
// change).
func (v *verdict) result() (code int, first failure, open bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.code, v.first, len(v.pending) > 0
}
