package launcher

import (
	"syscall"
	"time"
)

// Termination. Every path that ends processes (the head's teardown of a
// failed job, its time limit and forwarded signals; an agent's teardown
// when its head is gone and of its ranks' leftover children; the keeper;
// the ssh clients and the srun step that carry agents) goes through
// escalate, with its own steps:
//
//	head, a failure:        Job.Grace, SIGTERM; Job.Grace, SIGKILL
//	head, --timeout:        SIGTERM at once; Job.Grace, SIGKILL
//	head, SIGINT/SIGTERM:   the signal at once; 2×Job.Grace, SIGKILL
//	head, second signal or
//	  the caller's context: SIGKILL at once
//	agent, head gone:       SIGTERM at once; KillGrace, SIGKILL
//	agent, leftovers:       SIGTERM at once; leftoverGrace, SIGKILL
//	agent, a lost rank:     SIGKILL at once (it is stopped or frozen)
//	keeper, agent gone:     SIGKILL at once
//	ssh client, closed:     3 s, SIGKILL
//	ssh client, job over:   4 s, SIGKILL
//	srun step, job over:    4 s, SIGTERM; 3 s, SIGKILL
//
// Each step waits for the processes to end, at most its delay, then
// sends its signal; once they have ended nothing more is sent.

// killStep is one step of an escalation: wait up to after, then send sig.
type killStep struct {
	after time.Duration
	sig   syscall.Signal
}

// termThenKill is the usual escalation: wait, SIGTERM; grace, SIGKILL.
func termThenKill(wait, grace time.Duration) []killStep {
	return []killStep{{wait, syscall.SIGTERM}, {grace, syscall.SIGKILL}}
}

// escalate runs steps in order: each waits until done is closed, at most
// its delay, then calls send with its signal. It returns true as soon as
// done is closed (sending nothing more), false once the last signal is
// sent without done closing. A nil done never closes: every step runs.
// escalate blocks, and calls send from its caller's goroutine; callers
// that must not wait run it in a goroutine of its own.
func escalate(done <-chan struct{}, send func(syscall.Signal), steps ...killStep) bool {
	for _, s := range steps {
		if !waitFor(done, s.after) {
			return true
		}
		send(s.sig)
	}
	return false
}

// waitFor waits up to d for done to close; it reports whether d passed
// first (true) or done closed (false). A d of 0 only checks done.
func waitFor(done <-chan struct{}, d time.Duration) (timedOut bool) {
	select {
	case <-done:
		return false
	default:
	}
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return false
	case <-t.C:
		return true
	}
}

// signalGroup returns a send function for escalate that signals the
// process group pgid (every process started with Setpgid leads its own).
func signalGroup(pgid int) func(syscall.Signal) {
	return func(sig syscall.Signal) { syscall.Kill(-pgid, sig) }
}
