package comm_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// TestChaosKill kills one rank's links (as its death would) at a random
// moment of a stream of ring exchanges of eager, rendezvous and large
// messages, over every transport. Every rank must return, in bounded time,
// with nil or a peer-loss or abort error; once one rank has failed the
// job is aborted, as gorun does. The seed is logged.
func TestChaosKill(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	sizes := []int{8, 10 << 10, 300 << 10, 3 << 20}
	for _, tr := range commtest.Transports {
		for round := range 3 {
			np := 3 + round%3
			victim := rng.IntN(np)
			delay := time.Duration(rng.IntN(20000)) * time.Microsecond
			t.Run(tr, func(t *testing.T) {
				t.Logf("np %d, rank %d killed after %v", np, victim, delay)
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				w, err := commtest.Start(ctx, np, commtest.WithTransport(comm.Config{LossGrace: 100 * time.Millisecond}, tr))
				if err != nil {
					t.Fatal(err)
				}
				errs := make(chan error, np)
				for r, c := range w.Comms {
					go func() {
						send := make([]byte, 3<<20)
						recv := make([]byte, 3<<20)
						for i := 0; ; i++ {
							n := sizes[i%len(sizes)]
							_, err := comm.Sendrecv(ctx, c, send[:n], (r+1)%np, i, recv[:n], (r+np-1)%np, i)
							if err != nil {
								errs <- err
								return
							}
						}
					}()
				}
				time.Sleep(delay) // the random moment
				comm.KillLinks(w.Comms[victim])
				aborted := false
				for range np {
					select {
					case err := <-errs:
						if !aborted {
							w.Store.Set(ctx, "abort", []byte("chaos: rank killed"))
							aborted = true
						}
						if !errors.Is(err, comm.ErrPeerLost) && !errors.Is(err, comm.ErrAborted) {
							t.Errorf("unexpected error %v", err)
						}
					case <-time.After(20 * time.Second):
						t.Fatal("a rank hangs after a peer was killed")
					}
				}
				done := make(chan struct{})
				go func() { w.Close(); close(done) }()
				select {
				case <-done:
				case <-time.After(20 * time.Second):
					t.Fatal("Close hangs after a peer was killed")
				}
			})
		}
	}
}
