package shm

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// TestHiddenReader checks that hiding a WaitReady from the peer loses no
// wake-up: a message sent while it is hidden wakes it at ShowReader, one
// sent after ShowReader wakes it from the peer, and another wait of the
// receiving side (Recv) is woken while the reader is hidden. CheckEvery is
// long, so a lost wake-up ends in the context's deadline, not a late
// success.
func TestHiddenReader(t *testing.T) {
	for _, tc := range []struct {
		name       string
		sendHidden bool // the message is sent before ShowReader
		recv       bool // the receiving side waits in Recv, still hidden
	}{
		{"sent while hidden", true, false},
		{"sent after show", false, false},
		{"recv while hidden", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := Options{RingSize: 16 << 10, Chunk: 1 << 10, CheckEvery: time.Hour}
			a, b := pair(t, o, o)
			done := make(chan error, 1)
			ctx := testCtx(t, 20*time.Second)
			// The waiter's context has no deadline: a lost wake-up leaves
			// it asleep, and the test fails when ctx ends.
			wctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			wait := func() error {
				select {
				case err := <-done:
					return err
				case <-ctx.Done():
					t.Fatal("lost wake-up: the waiter still sleeps")
					return nil
				}
			}
			b.HideReader()
			go func() {
				if tc.recv {
					_, err := b.Recv(wctx)
					done <- err
					return
				}
				done <- b.WaitReady(wctx)
			}()
			hdr := hdrOf(1)
			if tc.sendHidden {
				// Send once the waiter has announced its sleep (the word
				// leaves its hidden value), the case that needs ShowReader.
				word := b.rx.r.ctlU32(offConsSleep)
				for atomic.LoadUint32(word) == ^uint32(readerSleep-1) {
					if ctx.Err() != nil {
						t.Fatal("the waiter never announced its sleep")
					}
					runtime.Gosched()
				}
				if err := a.Send(ctx, &hdr, []byte("x")); err != nil {
					t.Fatal(err)
				}
			}
			if tc.recv {
				if err := wait(); err != nil {
					t.Fatalf("Recv while hidden: %v", err)
				}
				b.ShowReader()
				return
			}
			b.ShowReader()
			if !tc.sendHidden {
				if err := a.Send(ctx, &hdr, []byte("x")); err != nil {
					t.Fatal(err)
				}
			}
			if err := wait(); err != nil {
				t.Fatalf("WaitReady: %v", err)
			}
		})
	}
}
