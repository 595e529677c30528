package launcher

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// settledOnce collects what a verdict's windows decide.
type settledOnce struct {
	ch chan failure // the winners of windows
	nw chan struct{}
}

func newSettled() (*settledOnce, func(failure, bool)) {
	s := &settledOnce{ch: make(chan failure, 16), nw: make(chan struct{}, 16)}
	return s, func(f failure, won bool) {
		if won {
			s.ch <- f
		} else {
			s.nw <- struct{}{}
		}
	}
}

func (s *settledOnce) winner(t *testing.T) failure {
	t.Helper()
	select {
	case f := <-s.ch:
		return f
	case <-s.nw:
		t.Fatal("the window decided nothing")
	case <-time.After(10 * time.Second):
		t.Fatal("the window never closed")
	}
	return failure{}
}

// The proposal that happened first wins, whatever order the proposals
// arrive in; one with an unknown time loses to any with a time.
func TestVerdictProposalsFirstHappenedWins(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5, 8} {
		t.Run(fmt.Sprint("n=", n), func(t *testing.T) {
			s, settled := newSettled()
			v := newVerdict(settled)
			base := time.Now().UnixNano()
			// Arrival order n-1, ..., 0; rank r happened at base+r, except
			// that the first to arrive has no time.
			for r := n - 1; r >= 0; r-- {
				at := base + int64(r)
				if r == n-1 && n > 1 {
					at = 0
				}
				v.propose(failure{at: at, rank: r, line: fmt.Sprintf("gorun: rank %d", r), code: 10 + r})
			}
			if _, _, open := v.result(); !open {
				t.Fatal("no window open after a proposal")
			}
			f := s.winner(t)
			if f.rank != 0 {
				t.Errorf("rank %d won, want rank 0", f.rank)
			}
			code, first, open := v.result()
			if code != 10 || first.rank != 0 || open || !v.failed() {
				t.Errorf("result: code %d rank %d open %v failed %v; want 10, 0, false, true", code, first.rank, open, v.failed())
			}
			// Later proposals are consequences: ignored, no window opens.
			v.propose(failure{at: base - 1, rank: 99, code: 99})
			if code, _, open := v.result(); code != 10 || open {
				t.Errorf("a proposal after the verdict changed it: code %d open %v", code, open)
			}
		})
	}
}

// A decision wins over an open window, which then decides nothing.
func TestVerdictDecideBeatsOpenWindow(t *testing.T) {
	s, settled := newSettled()
	v := newVerdict(settled)
	v.propose(failure{at: 1, rank: 1, code: 3})
	if !v.decide(failure{rank: -1, code: ExitFailure}) {
		t.Fatal("decide lost to an undecided window")
	}
	if v.decide(failure{rank: 2, code: 7}) {
		t.Fatal("a second decide won")
	}
	select {
	case f := <-s.ch:
		t.Fatalf("the window decided %+v after decide", f)
	case <-s.nw:
	case <-time.After(10 * time.Second):
		t.Fatal("the window never closed")
	}
	if code, first, open := v.result(); code != ExitFailure || first.rank != -1 || open {
		t.Errorf("result: code %d rank %d open %v", code, first.rank, open)
	}
}

// impose wins like decide when first, and replaces the exit code when not:
// the job's time limit ends a job still tearing down with ExitTimeout.
func TestVerdictImpose(t *testing.T) {
	_, settled := newSettled()
	v := newVerdict(settled)
	if !v.decide(failure{rank: 3, code: 137, line: "gorun: rank 3"}) {
		t.Fatal("decide lost")
	}
	if v.impose(failure{rank: -1, code: ExitTimeout}) {
		t.Fatal("impose won over a decided verdict")
	}
	if code, first, _ := v.result(); code != ExitTimeout || first.rank != 3 {
		t.Errorf("code %d, winner rank %d; want %d and rank 3", code, first.rank, ExitTimeout)
	}
	v2 := newVerdict(settled)
	if !v2.impose(failure{rank: -1, code: ExitTimeout}) {
		t.Fatal("impose lost an undecided verdict")
	}
	if code, _, _ := v2.result(); code != ExitTimeout {
		t.Errorf("code %d", code)
	}
}

// Many goroutines deciding and proposing at once: exactly one failure
// wins (a decision, or a window if one closed before any decision).
func TestVerdictConcurrentOneWinner(t *testing.T) {
	s, settled := newSettled()
	v := newVerdict(settled)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var winners []failure
	for r := range 8 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			v.propose(failure{at: int64(r + 1), rank: r, code: r + 1})
		}()
		go func() {
			defer wg.Done()
			f := failure{rank: 100 + r, code: 100 + r}
			if v.decide(f) {
				mu.Lock()
				winners = append(winners, f)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	deadline := time.After(10 * time.Second)
	for {
		if _, _, open := v.result(); !open {
			break
		}
		select {
		case f := <-s.ch:
			winners = append(winners, f)
		case <-s.nw:
		case <-deadline:
			t.Fatal("the window never closed")
		}
	}
	select {
	case f := <-s.ch:
		winners = append(winners, f)
	default:
	}
	if len(winners) != 1 {
		t.Fatalf("%d winners, want 1: %+v", len(winners), winners)
	}
	if code, first, _ := v.result(); code != winners[0].code || first.rank != winners[0].rank {
		t.Errorf("result code %d rank %d, winner %+v", code, first.rank, winners[0])
	}
}

func TestFailureAbortCause(t *testing.T) {
	if c := (failure{line: "gorun: rank 1 exited with code 3"}).abortCause(); c != "rank 1 exited with code 3" {
		t.Errorf("cause %q", c)
	}
	if c := (failure{line: "gorun: lost the agent on h1: EOF", cause: "lost the agent on h1"}).abortCause(); c != "lost the agent on h1" {
		t.Errorf("cause %q", c)
	}
}
