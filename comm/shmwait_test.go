package comm_test

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// TestShmReaderYieldsBeforeSleep: with one P (a rank bound to one CPU), a
// shared-memory link's reader that completes a receive lets the receiving
// goroutine run before it sleeps on its channel. The sleep is a system call
// that keeps the P until the runtime's monitor takes it back, tens of
// microseconds or more: a rank whose reader did not yield stalled for that
// long after every message its reader delivered, and np 2 Barrier over
// shared memory took 80-170 µs a call instead of 1-2 µs in most runs. The
// test needs no clock: it checks the order of the two events, which with
// one P is decided by the reader alone.
func TestShmReaderYieldsBeforeSleep(t *testing.T) {
	if !comm.ShmAvailable {
		t.Skip("no shared memory in this build")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var returned atomic.Bool
	seen := make(chan bool, 64)
	comm.SetReaderSleepHook(func(rank, peer int, handled bool) {
		if rank == 1 && peer == 0 && handled {
			select {
			case seen <- returned.Load():
			default:
			}
		}
	})
	defer comm.SetReaderSleepHook(nil)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// No polling: every wait parks, and the reader delivers every message.
	w, err := commtest.Start(ctx, 2, comm.Config{Transport: comm.TransportShm, Spin: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	const rounds = 20
	for i := range rounds {
		returned.Store(false)
		got := make([]byte, 8)
		req := comm.Irecv(w.Comms[1], got, 0, i) // posted before the message leaves
		done := make(chan error, 1)
		go func() {
			_, err := req.Wait(ctx)
			returned.Store(true)
			done <- err
		}()
		if err := comm.Send(ctx, w.Comms[0], []byte("8 bytes."), 1, i); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-ctx.Done():
			t.Fatalf("round %d: receive not done: %v", i, ctx.Err())
		}
		select {
		case ok := <-seen:
			if !ok {
				t.Fatalf("round %d: rank 1's reader went to sleep before the receive it completed returned", i)
			}
		case <-ctx.Done():
			t.Fatalf("round %d: rank 1's reader never went back to sleep: %v", i, ctx.Err())
		}
	}
}
