package comm_test

import (
	"context"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
	"github.com/gorun-hpc/gorun/comm/rendezvous"
)

// waitCalls polls c's record until want reports true (a blocked call is
// seen), or fails the test at ctx's deadline.
func waitCalls(ctx context.Context, t *testing.T, c *comm.Comm, want func([]rendezvous.CallState) bool) rendezvous.RankState {
	t.Helper()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		st := comm.ObserveState(c)
		if want(st.Calls) {
			return st
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the record never showed the call: %+v", st)
		case <-tick.C:
		}
	}
}

// TestObserveBlockedCalls checks that a blocked Recv, a Wait on an Isend's
// request, a Probe and a collective span show in the rank's record with
// their peer, tag, communicator and sequence number, and leave it when
// they return.
func TestObserveBlockedCalls(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w, err := commtest.Start(ctx, 3, comm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	c0, c1, c2 := w.Comms[0], w.Comms[1], w.Comms[2]
	if st := comm.ObserveState(c1); len(st.Calls) != 0 {
		t.Fatalf("idle rank records calls: %+v", st.Calls)
	}

	// A Recv from rank 2, tag 9.
	done := make(chan error, 1)
	go func() {
		buf := make([]int64, 1)
		_, err := comm.Recv(ctx, c1, buf, 2, 9)
		done <- err
	}()
	st := waitCalls(ctx, t, c1, func(cs []rendezvous.CallState) bool { return len(cs) == 1 })
	got := st.Calls[0]
	if got.Call != "Recv" || got.Peer != 2 || got.CommPeer != 2 || got.Tag != 9 || got.Comm != "world" || got.Coll || got.Inner || got.Bytes != 8 {
		t.Fatalf("blocked Recv recorded as %+v", got)
	}
	before := st.Progress
	if err := comm.Send(ctx, c2, []int64{7}, 1, 9); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st = waitCalls(ctx, t, c1, func(cs []rendezvous.CallState) bool { return len(cs) == 0 })
	if st.Progress <= before {
		t.Fatalf("progress did not move: %d then %d", before, st.Progress)
	}

	// A Wait on a large Isend's request, and a Probe, at once.
	big := make([]byte, 1<<20)
	r := c0.IsendBytes(big, 2, 3)
	go func() { _, err := r.Wait(ctx); done <- err }()
	go func() { _, err := c0.Probe(ctx, comm.AnySource, 4); done <- err }()
	st = waitCalls(ctx, t, c0, func(cs []rendezvous.CallState) bool { return len(cs) == 2 })
	for _, cs := range st.Calls {
		switch cs.Call {
		case "IsendBytes":
			if !cs.Wait || cs.Peer != 2 || cs.Tag != 3 || cs.Bytes != len(big) {
				t.Errorf("Wait on Isend recorded as %+v", cs)
			}
		case "Probe":
			if !cs.Probe || cs.Peer != comm.AnySource || cs.Tag != 4 {
				t.Errorf("Probe recorded as %+v", cs)
			}
		default:
			t.Errorf("unexpected call %+v", cs)
		}
	}
	if _, err := comm.Recv(ctx, c2, big, 0, 3); err != nil {
		t.Fatal(err)
	}
	if err := comm.Send(ctx, c1, []byte{1}, 0, 4); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if _, err := comm.Recv(ctx, c0, []byte{0}, 1, 4); err != nil {
		t.Fatal(err)
	}

	// A collective span with an inner wait on the collective context.
	sub, err := splitAll(ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		sys, base := sub[1].Collective()
		sp := sub[1].BeginCollective("Bcast", 0, base)
		defer sp.End()
		sp.Algorithm("linear", 8)
		_, err := comm.Recv(ctx, sys, make([]byte, 8), 0, base)
		done <- err
	}()
	st = waitCalls(ctx, t, c1, func(cs []rendezvous.CallState) bool { return len(cs) == 2 })
	for _, cs := range st.Calls {
		switch {
		case cs.Coll:
			if cs.Call != "Bcast" || cs.Peer != 0 || cs.Seq != 1 || cs.Alg != "linear" || cs.Bytes != 8 || !strings.HasPrefix(cs.Comm, "comm 0x") {
				t.Errorf("collective recorded as %+v", cs)
			}
		default:
			if !cs.Inner || cs.Call != "Recv" || cs.Peer != 0 || cs.Comm == "world" {
				t.Errorf("inner wait recorded as %+v", cs)
			}
		}
	}
	sys, base := sub[0].Collective()
	if err := comm.Send(ctx, sys, make([]byte, 8), 1, base); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	waitCalls(ctx, t, c1, func(cs []rendezvous.CallState) bool { return len(cs) == 0 })
}

// splitAll splits w's world into one communicator of every rank (a
// context other than the world's).
func splitAll(ctx context.Context, w *commtest.World) ([]*comm.Comm, error) {
	out := make([]*comm.Comm, len(w.Comms))
	errs := make(chan error, len(w.Comms))
	for i, c := range w.Comms {
		go func() {
			var err error
			out[i], err = c.Split(ctx, 0, c.Rank())
			errs <- err
		}()
	}
	for range w.Comms {
		if err := <-errs; err != nil {
			return nil, err
		}
	}
	return out, nil
}

// TestEncodeStateFits checks that a state with more calls than one agent
// link line holds is cut to fit, keeping the longest waits and counting
// the rest.
func TestEncodeStateFits(t *testing.T) {
	st := rendezvous.RankState{Progress: 12, CPU: 34}
	for i := range 40 {
		st.Calls = append(st.Calls, rendezvous.CallState{Call: "Allreduce", Coll: true, Comm: "comm 0x1234abcd", Seq: i, Peer: -1, For: int64(i) * 1e9})
	}
	arg := comm.EncodeState("77", st)
	line := rendezvous.FormatLink(rendezvous.LinkState, arg)
	if len(line) > rendezvous.MaxLinkLine {
		t.Fatalf("line of %d bytes", len(line))
	}
	kind, a, err := rendezvous.ParseLink(line)
	if err != nil || kind != rendezvous.LinkState {
		t.Fatal(kind, err)
	}
	var got rendezvous.RankState
	id, _, err := rendezvous.ParseAnswer(kind, a, &got)
	if err != nil || id != 77 {
		t.Fatal(id, err)
	}
	if len(got.Calls) == 0 || len(got.Calls)+got.More != 40 {
		t.Fatalf("%d calls + %d more, want 40", len(got.Calls), got.More)
	}
	for _, c := range got.Calls {
		if c.Seq < 40-len(got.Calls) {
			t.Errorf("kept a short wait (seq %d) over longer ones", c.Seq)
		}
	}
}

// TestBusyGoroutines checks the deadlock check's look at goroutines: one
// asleep or computing counts as busy; one waiting on a channel, or
// blocked in a gorun call, does not.
func TestBusyGoroutines(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w, err := commtest.Start(ctx, 2, comm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	// Only this test's goroutines and os/signal's are counted: those left
	// by earlier tests of the binary may end at any moment. check polls until the
	// count is want (goroutines take a moment to reach their waits).
	check := func(want int) {
		t.Helper()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			got := comm.BusyGoroutinesOf("TestBusyGoroutines", "os/signal.")
			if got == want {
				return
			}
			select {
			case <-ctx.Done():
				t.Fatalf("busy goroutines of the test: %d, want %d; stacks:\n%s", got, want, comm.AllStacks())
			case <-tick.C:
			}
		}
	}
	check(1) // this goroutine, running
	stop := make(chan struct{})
	go func() { <-stop }()
	check(1)
	done := make(chan error, 1)
	go func() { _, err := comm.Recv(ctx, w.Comms[0], make([]byte, 1), 1, 3); done <- err }()
	waitCalls(ctx, t, w.Comms[0], func(cs []rendezvous.CallState) bool { return len(cs) == 1 })
	check(1)
	go func() {
		select {
		case <-time.After(time.Minute):
		case <-stop:
		}
	}()
	check(1)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR2) // os/signal's loop waits in a system call: not busy
	defer signal.Stop(sig)
	check(1)
	if n := comm.BusyGoroutines(); n < 1 {
		t.Errorf("busy goroutines of the process: %d, want at least this one", n)
	}
	var stopSleeping atomic.Bool
	slept := make(chan struct{})
	go func() { // asleep, now and then runnable: busy either way
		defer close(slept)
		for !stopSleeping.Load() {
			time.Sleep(time.Millisecond)
		}
	}()
	check(2)
	stopSleeping.Store(true)
	<-slept // so that a run after this one (-count) counts only its own
	close(stop)
	if err := comm.Send(ctx, w.Comms[1], []byte{1}, 0, 3); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
