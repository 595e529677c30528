package collectives_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// TestSharedAlgorithms runs the shared Barrier, Bcast and Allreduce back to
// back, interleaved, with roots and sizes changing from call to call (so
// that calls use both slots and ranks run ahead of each other), over
// shared memory, and checks every result; chosen by the selector and
// forced. Over TCP, or over several (modelled) hosts, the same calls fall
// back to messages and must give the same results.
func TestSharedAlgorithms(t *testing.T) {
	const rounds = 300
	for _, n := range []int{1, 2, 3, 5, 8} {
		for _, tr := range transportsFor(n) {
			for _, forced := range []bool{false, true} {
				name := fmt.Sprintf("np=%d/%s/auto", n, tr)
				var opts []collectives.Option
				if forced {
					name = fmt.Sprintf("np=%d/%s/forced", n, tr)
					opts = []collectives.Option{collectives.WithAlgorithm("shared")}
				}
				t.Run(name, func(t *testing.T) {
					commtest.Run(t, n, commtest.WithTransport(testCfg, tr), func(ctx context.Context, c *comm.Comm) error {
						return sharedRounds(ctx, c, rounds, opts)
					})
				})
			}
		}
	}
}

func sharedRounds(ctx context.Context, c *comm.Comm, rounds int, opts []collectives.Option) error {
	me, p := c.Rank(), c.Size()
	sizes := []int{0, 1, 4, 64, collectives.SharedSlot / 8, collectives.SharedSlot/8 + 2, 2000}
	for i := range rounds {
		k := sizes[i%len(sizes)]
		switch i % 3 {
		case 0:
			if err := collectives.Barrier(ctx, c, opts...); err != nil {
				return fmt.Errorf("round %d: Barrier: %w", i, err)
			}
		case 1:
			root := (i / 3) % p
			buf := make([]float64, k)
			for j := range buf {
				if me == root {
					buf[j] = float64(i*1000+j) + 0.5
				} else {
					buf[j] = -1
				}
			}
			if err := collectives.Bcast(ctx, c, buf, root, opts...); err != nil {
				return fmt.Errorf("round %d: Bcast of %d from %d: %w", i, k, root, err)
			}
			for j, v := range buf {
				if want := float64(i*1000+j) + 0.5; v != want {
					return fmt.Errorf("round %d: Bcast of %d from %d: [%d] = %v, want %v", i, k, root, j, v, want)
				}
			}
		case 2:
			// A non-commutative operation: the result shows the order.
			op := affine()
			pair := func(r, j int) (int64, int64) { return int64(r + j%3 + 2), int64(r*7 - j + i) }
			src := make([]int64, 2*(k/2))
			for j := 0; j < len(src); j += 2 {
				src[j], src[j+1] = pair(me, j)
			}
			dst := make([]int64, len(src))
			if err := collectives.Allreduce(ctx, c, dst, src, op, opts...); err != nil {
				return fmt.Errorf("round %d: Allreduce of %d: %w", i, len(src), err)
			}
			want := make([]int64, len(src))
			for r := range p {
				in := make([]int64, len(src))
				for j := 0; j < len(in); j += 2 {
					in[j], in[j+1] = pair(r, j)
				}
				if r == 0 {
					copy(want, in)
				} else {
					op.Fn(want, in)
				}
			}
			for j, v := range dst {
				if v != want[j] {
					return fmt.Errorf("round %d: Allreduce of %d: [%d] = %d, want %d (rank order)", i, len(src), j, v, want[j])
				}
			}
			sum := []float64{float64(me) + 0.25}
			if err := collectives.Allreduce(ctx, c, sum, nil, collectives.Sum[float64](), append(opts, collectives.InPlace())...); err != nil {
				return fmt.Errorf("round %d: Allreduce in place: %w", i, err)
			}
			if want := float64(p*(p-1))/2 + 0.25*float64(p); !closeTo(sum[0], want, 1e-12) {
				return fmt.Errorf("round %d: Allreduce in place: %v, want %v", i, sum[0], want)
			}
		}
	}
	return nil
}

// TestSharedSelection: on one host over shared memory, the selector
// takes the shared algorithms for a small Barrier, Bcast and Allreduce;
// over TCP it does not; non-blocking calls never use them.
func TestSharedSelection(t *testing.T) {
	if !comm.ShmAvailable {
		t.Skip("no shared memory in this build")
	}
	for _, tr := range []string{comm.TransportShm, comm.TransportTCP} {
		t.Run(tr, func(t *testing.T) {
			commtest.Run(t, 3, commtest.WithTransport(testCfg, tr), func(ctx context.Context, c *comm.Comm) error {
				want := tr == comm.TransportShm
				for _, q := range []struct {
					coll  string
					bytes int
					want  bool
				}{{"barrier", 0, want}, {"bcast", 8, want}, {"allreduce", 8, want}, {"allreduce", collectives.SharedSlot + 8, false}} {
					alg, err := collectives.ChosenAlgorithm(ctx, c, q.coll, q.bytes, true)
					if err != nil {
						return err
					}
					if (alg == "shared") != q.want {
						return fmt.Errorf("%s of %d bytes over %s: %s", q.coll, q.bytes, tr, alg)
					}
				}
				d := c.Dup()
				if _, err := collectives.Ibarrier(ctx, d).Wait(ctx); err != nil {
					return err
				}
				if collectives.SharedWindowOf(d) {
					return errors.New("a non-blocking Barrier made a shared window")
				}
				if err := collectives.Barrier(ctx, d); err != nil {
					return err
				}
				if collectives.SharedWindowOf(d) != want {
					return fmt.Errorf("a blocking Barrier over %s: window %v", tr, !want)
				}
				return nil
			})
		})
	}
}

// A rank that leaves while the others wait in a shared Barrier (asleep in
// the window) makes their calls fail at once, naming the peer's state,
// instead of hanging; and a rank alone in a Barrier returns when its
// context ends.
func TestSharedBarrierPeerLeaves(t *testing.T) {
	if !comm.ShmAvailable {
		t.Skip("no shared memory in this build")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const n, dead = 4, 2
	w, err := commtest.Start(ctx, n, commtest.WithTransport(testCfg, comm.TransportShm))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	// A first Barrier makes the window on every rank.
	errs := make(chan error, n)
	for r := range n {
		go func() { errs <- collectives.Barrier(ctx, w.Comms[r]) }()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	// Rank 0 alone: its context ends (well after the waits' polling, so it
	// was asleep).
	short, scancel := context.WithTimeout(ctx, 300*time.Millisecond)
	err = collectives.Barrier(short, w.Comms[0])
	scancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a Barrier nobody else joins: %v, want a deadline error", err)
	}
	// The others (rank 0 included: it is one generation ahead, and waits
	// for the next one) wait; one rank leaves.
	for r := range n {
		if r == 0 || r == dead {
			continue
		}
		go func() { errs <- collectives.Barrier(ctx, w.Comms[r]) }()
	}
	go func() { errs <- collectives.Barrier(ctx, w.Comms[0]) }()
	go w.Comms[dead].Close()
	for range n - 1 {
		select {
		case err := <-errs:
			if !errors.Is(err, comm.ErrPeerFinalized) && !errors.Is(err, comm.ErrPeerLost) {
				t.Errorf("a Barrier whose peer left: %v, want ErrPeerFinalized or ErrPeerLost", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a rank hangs in a shared Barrier after its peer left")
		}
	}
}

// Ranks that disagree on a shared call (sizes, or which collective) get
// ErrMismatch naming the other rank's call, as a message algorithm's
// receive of the wrong size does, instead of reading what was not written.
func TestSharedMismatch(t *testing.T) {
	if !comm.ShmAvailable {
		t.Skip("no shared memory in this build")
	}
	cases := map[string]func(ctx context.Context, c *comm.Comm) error{
		"counts": func(ctx context.Context, c *comm.Comm) error {
			n := 20
			if c.Rank() == 2 {
				n = 10
			}
			return collectives.Allreduce(ctx, c, make([]float64, n), make([]float64, n), collectives.Sum[float64]())
		},
		"barrier-or-allreduce": func(ctx context.Context, c *comm.Comm) error {
			if c.Rank() == 1 {
				return collectives.Barrier(ctx, c)
			}
			return collectives.Allreduce(ctx, c, make([]int32, 4), make([]int32, 4), collectives.Sum[int32]())
		},
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			errs := make([]error, 3)
			commtest.Run(t, 3, commtest.WithTransport(testCfg, comm.TransportShm), func(ctx context.Context, c *comm.Comm) error {
				ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				defer cancel()
				errs[c.Rank()] = f(ctx, c)
				return nil
			})
			for r, err := range errs {
				if !errors.Is(err, collectives.ErrMismatch) {
					t.Errorf("rank %d: %v, want ErrMismatch", r, err)
				}
			}
			t.Logf("rank 0: %v", errs[0])
		})
	}
}

// TestSharedStraddleChecked: ranks of one host whose Allreduce sizes lie
// on both sides of the shared algorithm's 4 KiB take different
// algorithms, which the package doc lists among the mismatches not seen
// for free; with Config.Check on, every rank gets ErrMismatch instead.
func TestSharedStraddleChecked(t *testing.T) {
	if !comm.ShmAvailable {
		t.Skip("no shared memory in this build")
	}
	cfg := commtest.WithTransport(testCfg, comm.TransportShm)
	cfg.Check = comm.On
	errs := make([]error, 3)
	commtest.Run(t, 3, cfg, func(ctx context.Context, c *comm.Comm) error {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		n := 512 // 4 KiB of float64: the shared algorithm
		if c.Rank() == 1 {
			n = 520
		}
		errs[c.Rank()] = collectives.Allreduce(ctx, c, make([]float64, n), make([]float64, n), collectives.Sum[float64]())
		return nil
	})
	for r, err := range errs {
		if !errors.Is(err, collectives.ErrMismatch) || errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("rank %d: %v, want ErrMismatch", r, err)
		}
	}
	t.Logf("rank 0: %v", errs[0])
}

// TestSharedBcastRunsAhead sends many Bcasts in a row from one root, which
// waits for nobody and so runs ahead of the others until it has used
// every slot: it may reuse a slot only once every rank has read it. Each
// call's data differ, and every rank checks every call.
func TestSharedBcastRunsAhead(t *testing.T) {
	const calls = 4 * collectives.SharedSlots
	if !comm.ShmAvailable {
		t.Skip("no shared memory in this build")
	}
	for _, n := range []int{2, 3, 5, 8} {
		t.Run(fmt.Sprintf("np=%d", n), func(t *testing.T) {
			commtest.Run(t, n, commtest.WithTransport(testCfg, comm.TransportShm), func(ctx context.Context, c *comm.Comm) error {
				root := n - 1
				buf := make([]int64, 64)
				for i := range calls {
					for j := range buf {
						buf[j] = -1
						if c.Rank() == root {
							buf[j] = int64(i*1000 + j)
						}
					}
					if err := collectives.Bcast(ctx, c, buf, root, collectives.WithAlgorithm("shared")); err != nil {
						return fmt.Errorf("call %d: %w", i, err)
					}
					for j, v := range buf {
						if want := int64(i*1000 + j); v != want {
							return fmt.Errorf("call %d: [%d] = %d, want %d", i, j, v, want)
						}
					}
				}
				return collectives.Barrier(ctx, c)
			})
		})
	}
}
