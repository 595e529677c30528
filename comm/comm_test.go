package comm_test

import (
	"context"
	"errors"
	"fmt"
	"math/cmplx"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

var sizes = []int{1, 2, 3, 5, 8}

// small segments so that multi-chunk rendezvous paths run in tests.
var testCfg = comm.Config{EagerLimit: 1 << 10, ChunkSize: 3000}

func fill[T comm.Elem](n, seed int, f func(int) T) []T {
	s := make([]T, n)
	for i := range s {
		s[i] = f(i*7 + seed)
	}
	return s
}

func ringTest[T comm.Elem](t *testing.T, name string, transports []string, gen func(int) T) {
	for _, tr := range transports {
		for _, n := range sizes {
			for _, count := range []int{0, 1, 7, 1000, 20000} {
				t.Run(fmt.Sprintf("%s/%s/np=%d/count=%d", name, tr, n, count), func(t *testing.T) {
					commtest.Run(t, n, commtest.WithTransport(testCfg, tr), func(ctx context.Context, c *comm.Comm) error {
						r, sz := c.Rank(), c.Size()
						right, left := (r+1)%sz, (r+sz-1)%sz
						send := fill(count, r, gen)
						recv := make([]T, count)
						st, err := comm.Sendrecv(ctx, c, send, right, 5, recv, left, 5)
						if err != nil {
							return err
						}
						if st.Source != left || st.Tag != 5 || st.Bytes != count*comm.SizeOf[T]() {
							return fmt.Errorf("status %+v", st)
						}
						want := fill(count, left, gen)
						for i := range want {
							if recv[i] != want[i] {
								return fmt.Errorf("recv[%d] = %v, want %v", i, recv[i], want[i])
							}
						}
						return nil
					})
				})
			}
		}
	}
}

// TestRingTypes runs a ring exchange over every transport (float64) and
// the other element types over the default one.
func TestRingTypes(t *testing.T) {
	ringTest(t, "float64", commtest.Transports, func(i int) float64 { return float64(i) * 0.5 })
	ringTest(t, "int32", []string{""}, func(i int) int32 { return int32(-i) })
	ringTest(t, "complex128", []string{""}, func(i int) complex128 { return cmplx.Rect(float64(i), 1) })
	ringTest(t, "byte", []string{""}, func(i int) byte { return byte(i) })
}

func TestWildcardsAndOrdering(t *testing.T) {
	for _, tr := range commtest.Transports {
		for _, n := range []int{2, 3, 5, 8} {
			t.Run(fmt.Sprintf("%s/np=%d", tr, n), func(t *testing.T) {
				const per = 60
				commtest.Run(t, n, commtest.WithTransport(testCfg, tr), func(ctx context.Context, c *comm.Comm) error {
					if c.Rank() != 0 {
						// Mixed sizes: eager and rendezvous messages must stay in order.
						var reqs []*comm.Request
						for i := range per {
							size := 1 + (i%3)*1500
							buf := make([]int64, size)
							buf[0] = int64(i)
							reqs = append(reqs, comm.Isend(c, buf, 0, i%4))
						}
						return comm.WaitAll(ctx, reqs...)
					}
					next := make([]int64, c.Size())
					buf := make([]int64, 5000)
					for range per * (c.Size() - 1) {
						st, err := comm.Recv(ctx, c, buf, comm.AnySource, comm.AnyTag)
						if err != nil {
							return err
						}
						if buf[0] != next[st.Source] {
							return fmt.Errorf("from %d got message %d, want %d", st.Source, buf[0], next[st.Source])
						}
						if st.Tag != int(buf[0])%4 || st.Bytes != 8*(1+int(buf[0])%3*1500) {
							return fmt.Errorf("status %+v for message %d", st, buf[0])
						}
						next[st.Source]++
					}
					return nil
				})
			})
		}
	}
}

func TestTagSelection(t *testing.T) {
	commtest.Run(t, 2, testCfg, func(ctx context.Context, c *comm.Comm) error {
		if c.Rank() == 0 {
			for tag := 1; tag <= 3; tag++ {
				if err := comm.Send(ctx, c, []int{tag}, 1, tag); err != nil {
					return err
				}
			}
			return nil
		}
		v := []int{0}
		for _, tag := range []int{3, 1, 2} {
			st, err := comm.Recv(ctx, c, v, 0, tag)
			if err != nil {
				return err
			}
			if v[0] != tag || st.Tag != tag {
				return fmt.Errorf("tag %d: got %d", tag, v[0])
			}
		}
		return nil
	})
}

// TestLargeMessage sends 12 MiB over every transport; over shared memory
// both ways of moving a large payload run: one copy from the sender's
// memory (Shm.CMA on: process_vm_readv, where the kernel allows it) and
// the ring's pipelined chunks (Shm.CMA off, the default with a CPU per
// rank).
func TestLargeMessage(t *testing.T) {
	const n = 12 << 20
	cfgs := map[string]comm.Config{}
	for _, tr := range commtest.Transports {
		cfgs[tr] = commtest.WithTransport(comm.Config{}, tr)
	}
	if comm.ShmAvailable {
		cfgs["shm/cma"] = comm.Config{Transport: comm.TransportShm, Shm: comm.ShmConfig{CMA: comm.On}}
		cfgs["shm/ring"] = comm.Config{Transport: comm.TransportShm, Shm: comm.ShmConfig{CMA: comm.Off}}
	}
	for name, cfg := range cfgs {
		t.Run(name, func(t *testing.T) { largeMessage(t, n, cfg) })
	}
	if !comm.ShmAvailable {
		return
	}
	// Which path the shm worlds took.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, name := range []string{"shm/cma", "shm/ring"} {
		w, err := commtest.Start(ctx, 2, cfgs[name])
		if err != nil {
			t.Fatal(err)
		}
		cma, isShm := comm.LinkCMA(w.Comms[1], 0)
		w.Close()
		switch {
		case !isShm:
			t.Errorf("%s: not a shared-memory link", name)
		case name == "shm/ring" && cma:
			t.Errorf("%s: CMA on with Shm.CMA Off", name)
		case name == "shm/cma" && !cma:
			t.Logf("%s: process_vm_readv refused here: the single-copy path did not run", name)
		}
	}
}

func largeMessage(t *testing.T, n int, cfg comm.Config) {
	commtest.Run(t, 2, cfg, func(ctx context.Context, c *comm.Comm) error {
		if c.Rank() == 0 {
			buf := make([]byte, n)
			for i := range buf {
				buf[i] = byte(i * 31)
			}
			return comm.Send(ctx, c, buf, 1, 0)
		}
		buf := make([]byte, n)
		st, err := comm.Recv(ctx, c, buf, 0, 0)
		if err != nil {
			return err
		}
		if st.Bytes != n {
			return fmt.Errorf("bytes %d", st.Bytes)
		}
		for i := range buf {
			if buf[i] != byte(i*31) {
				return fmt.Errorf("byte %d wrong", i)
			}
		}
		return nil
	})
}

func TestTruncate(t *testing.T) {
	for _, size := range []int{10, 5000} {
		commtest.Run(t, 2, testCfg, func(ctx context.Context, c *comm.Comm) error {
			if c.Rank() == 0 {
				if err := comm.Send(ctx, c, make([]byte, size), 1, 0); err != nil {
					return err
				}
				return comm.Send(ctx, c, []byte{42}, 1, 1)
			}
			buf := make([]byte, 4)
			st, err := comm.Recv(ctx, c, buf, 0, 0)
			if !errors.Is(err, comm.ErrTruncate) || st.Bytes != size {
				return fmt.Errorf("want ErrTruncate with size %d, got %v %+v", size, err, st)
			}
			// The link still works after a truncated message.
			if _, err := comm.Recv(ctx, c, buf, 0, 1); err != nil || buf[0] != 42 {
				return fmt.Errorf("after truncation: %v %v", err, buf[0])
			}
			return nil
		})
	}
}

func TestProbe(t *testing.T) {
	commtest.Run(t, 3, testCfg, func(ctx context.Context, c *comm.Comm) error {
		if c.Rank() != 0 {
			return comm.Send(ctx, c, make([]float32, 100*c.Rank()), 0, 10+c.Rank())
		}
		for range 2 {
			st, err := c.Probe(ctx, comm.AnySource, comm.AnyTag)
			if err != nil {
				return err
			}
			if st.Bytes != 400*st.Source || st.Tag != 10+st.Source {
				return fmt.Errorf("probe status %+v", st)
			}
			buf := make([]float32, comm.Count[float32](st))
			if _, err := comm.Recv(ctx, c, buf, st.Source, st.Tag); err != nil {
				return err
			}
		}
		if _, ok, err := c.Iprobe(comm.AnySource, comm.AnyTag); ok || err != nil {
			return fmt.Errorf("iprobe after draining: %v %v", ok, err)
		}
		return nil
	})
}

func TestTimeoutAndCancel(t *testing.T) {
	commtest.Run(t, 2, testCfg, func(ctx context.Context, c *comm.Comm) error {
		tctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		defer cancel()
		// Nobody has sent on tag 97 yet: the receive times out.
		_, err := comm.Recv(tctx, c, []byte{0}, 1-c.Rank(), 97)
		if !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("want deadline exceeded, got %v", err)
		}
		// Once rank 1's receive is withdrawn, rank 0 sends on tag 97: a
		// fresh receive, not the withdrawn one, must take it.
		if c.Rank() == 0 {
			if _, err := comm.Recv(ctx, c, []byte{0}, 1, 96); err != nil {
				return err
			}
			return comm.Send(ctx, c, []byte{7}, 1, 97)
		}
		if err := comm.Send(ctx, c, []byte{1}, 0, 96); err != nil {
			return err
		}
		buf := []byte{0}
		_, err = comm.Recv(ctx, c, buf, 0, 97)
		if err != nil || buf[0] != 7 {
			return fmt.Errorf("after cancel: %v %v", err, buf)
		}
		return nil
	})
}

func TestSplitDupIsolation(t *testing.T) {
	for _, tr := range commtest.Transports {
		for _, n := range sizes {
			t.Run(fmt.Sprintf("%s/np=%d", tr, n), func(t *testing.T) {
				commtest.Run(t, n, commtest.WithTransport(testCfg, tr), func(ctx context.Context, c *comm.Comm) error {
					// Reverse order inside each parity class.
					sub, err := c.Split(ctx, c.Rank()%2, -c.Rank())
					if err != nil {
						return err
					}
					members := (n + 1 - c.Rank()%2) / 2
					if sub.Size() != members {
						return fmt.Errorf("split size %d, want %d", sub.Size(), members)
					}
					if sub.WorldRank(0) < sub.WorldRank(sub.Size()-1) {
						return fmt.Errorf("split not ordered by key")
					}
					dup := c.Dup()
					// Same tag on three communicators: each receive must get its own.
					peer := (c.Rank() + 1) % n
					from := (c.Rank() + n - 1) % n
					r1 := comm.Isend(c, []int{1}, peer, 0)
					r2 := comm.Isend(dup, []int{2}, peer, 0)
					sys, tag := c.Collective()
					r3 := comm.Isend(sys, []int{3}, peer, tag)
					got := []int{0}
					if _, err := comm.Recv(ctx, dup, got, from, 0); err != nil || got[0] != 2 {
						return fmt.Errorf("dup got %v %v", got, err)
					}
					if _, err := comm.Recv(ctx, sys, got, from, tag); err != nil || got[0] != 3 {
						return fmt.Errorf("collective view got %v %v", got, err)
					}
					if _, err := comm.Recv(ctx, c, got, from, comm.AnyTag); err != nil || got[0] != 1 {
						return fmt.Errorf("world got %v %v", got, err)
					}
					if err := comm.WaitAll(ctx, r1, r2, r3); err != nil {
						return err
					}
					// Ring inside the sub-communicator.
					sr, ss := sub.Rank(), sub.Size()
					v := []int{sub.WorldRank(sr)}
					if _, err := comm.Sendrecv(ctx, sub, v, (sr+1)%ss, 1, got, (sr+ss-1)%ss, 1); err != nil {
						return err
					}
					if got[0] != sub.WorldRank((sr+ss-1)%ss) {
						return fmt.Errorf("sub ring got %d", got[0])
					}
					// Create with a chosen subset.
					pick := []int{n - 1, 0}
					if n == 1 {
						pick = pick[:1]
					}
					cr, err := c.Create(ctx, pick)
					if err != nil {
						return err
					}
					if in := c.Rank() == 0 || c.Rank() == n-1; in != (cr != nil) {
						return fmt.Errorf("create membership wrong")
					}
					if cr != nil && n > 1 && cr.WorldRank(0) != n-1 {
						return fmt.Errorf("create order wrong")
					}
					return nil
				})
			})
		}
	}
}

type point struct {
	Name string
	X, Y float64
	Tags []string
}

func TestValues(t *testing.T) {
	commtest.Run(t, 3, testCfg, func(ctx context.Context, c *comm.Comm) error {
		if c.Rank() > 0 {
			p := point{Name: fmt.Sprint("p", c.Rank()), X: float64(c.Rank()), Tags: make([]string, 500*c.Rank())}
			return comm.SendValue(ctx, c, p, 0, 3)
		}
		for range 2 {
			var p point
			st, err := comm.RecvValue(ctx, c, &p, comm.AnySource, 3)
			if err != nil {
				return err
			}
			if p.Name != fmt.Sprint("p", st.Source) || len(p.Tags) != 500*st.Source {
				return fmt.Errorf("got %+v from %d", p.Name, st.Source)
			}
		}
		return nil
	})
}

func TestWaitAnyAndTest(t *testing.T) {
	commtest.Run(t, 3, testCfg, func(ctx context.Context, c *comm.Comm) error {
		if c.Rank() == 2 {
			return comm.Send(ctx, c, []int{2}, 0, 0)
		}
		if c.Rank() == 1 {
			return nil
		}
		a, b := []int{0}, []int{0}
		reqs := []*comm.Request{comm.Irecv(c, a, 1, 0), comm.Irecv(c, b, 2, 0)}
		i, st, err := comm.WaitAny(ctx, reqs...)
		if err != nil || i != 1 || st.Source != 2 || b[0] != 2 {
			return fmt.Errorf("waitany %d %+v %v", i, st, err)
		}
		if done, _, _ := reqs[0].Test(); done {
			return fmt.Errorf("request 0 done without a message")
		}
		if !reqs[0].Cancel() {
			return fmt.Errorf("cancel failed")
		}
		if _, err := reqs[0].Wait(ctx); !errors.Is(err, comm.ErrCanceled) {
			return fmt.Errorf("cancelled request: %v", err)
		}
		return nil
	})
}

func TestAbortWakesBlockedRanks(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	w, err := commtest.Start(ctx, 3, testCfg)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 3)
	for _, c := range w.Comms {
		go func() {
			_, err := comm.Recv(ctx, c, []byte{0}, comm.AnySource, 1)
			errs <- err
		}()
	}
	w.Store.Set(ctx, "abort", []byte("rank 7 exited with code 3"))
	for range 3 {
		err := <-errs
		if !errors.Is(err, comm.ErrAborted) {
			t.Fatalf("want ErrAborted, got %v", err)
		}
	}
	if err := w.Close(); !errors.Is(err, comm.ErrAborted) {
		t.Fatalf("close after abort: %v", err)
	}
}

func TestPeerLostFailsPending(t *testing.T) {
	for _, tr := range commtest.Transports {
		t.Run(tr, func(t *testing.T) { peerLostFailsPending(t, commtest.WithTransport(testCfg, tr)) })
	}
}

func peerLostFailsPending(t *testing.T, cfg comm.Config) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	w, err := commtest.Start(ctx, 3, cfg)
	if err != nil {
		t.Fatal(err)
	}
	specific := comm.Irecv(w.Comms[0], []byte{0}, 2, 0)
	anysrc := comm.Irecv(w.Comms[1], []byte{0}, comm.AnySource, 0)
	big := comm.Isend(w.Comms[0], make([]byte, 1<<20), 2, 0) // rendezvous: waits for rank 2
	comm.KillLinks(w.Comms[2])
	for i, r := range []*comm.Request{specific, anysrc, big} {
		if _, err := r.Wait(ctx); !errors.Is(err, comm.ErrPeerLost) {
			t.Errorf("request %d: want ErrPeerLost, got %v", i, err)
		}
	}
	if err := comm.Send(ctx, w.Comms[1], []byte{1}, 2, 0); !errors.Is(err, comm.ErrPeerLost) {
		t.Errorf("send to lost rank: %v", err)
	}
	if done, err := comm.TrySend(w.Comms[1], []byte{1}, 2, 0); !done || !errors.Is(err, comm.ErrPeerLost) {
		t.Errorf("TrySend to lost rank: done %v, %v", done, err)
	}
	if r := comm.Isend(w.Comms[1], []byte{1}, 2, 0); r == nil {
		t.Error("Isend to lost rank: nil request")
	} else if _, err := r.Wait(ctx); !errors.Is(err, comm.ErrPeerLost) {
		t.Errorf("Isend to lost rank: %v", err)
	}
	w.Store.Set(ctx, "abort", []byte("test over"))
	w.Close()
}

func TestSingleton(t *testing.T) {
	t.Setenv("GORUN_SIZE", "")
	c, err := comm.Init()
	if err != nil {
		t.Fatal(err)
	}
	if c.Rank() != 0 || c.Size() != 1 {
		t.Fatalf("singleton rank %d size %d", c.Rank(), c.Size())
	}
	ctx := context.Background()
	r := comm.Irecv(c, []int{0}, 0, 0)
	if err := comm.Send(ctx, c, []int{9}, 0, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

// An abort in the middle of a large transfer fails the receive at once,
// and the chunks still in flight are absorbed quietly (no protocol error,
// no write into the caller's buffer after the error).
func TestAbortDuringLargeTransfer(t *testing.T) {
	for _, tr := range commtest.Transports {
		t.Run(tr, func(t *testing.T) { abortDuringLargeTransfer(t, tr) })
	}
}

func abortDuringLargeTransfer(t *testing.T, tr string) {
	for range 5 {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		var logs []string
		var mu sync.Mutex
		cfg := comm.Config{Transport: tr, ChunkSize: 64 << 10, Logf: func(f string, a ...any) {
			mu.Lock()
			logs = append(logs, fmt.Sprintf(f, a...))
			mu.Unlock()
		}}
		w, err := commtest.Start(ctx, 2, cfg)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64<<20)
		recv := comm.Irecv(w.Comms[1], buf, 0, 0)
		send := comm.Isend(w.Comms[0], make([]byte, 64<<20), 1, 0)
		w.Store.Set(ctx, "abort", []byte("stop"))
		// The receive fails with the abort, or with the sender's cancel
		// when the sender heard of the abort first and refused its CTS.
		if _, err := recv.Wait(ctx); err != nil && !errors.Is(err, comm.ErrAborted) && !errors.Is(err, comm.ErrCanceled) {
			t.Fatalf("receive: %v", err)
		}
		send.Wait(ctx)
		w.Close()
		cancel()
		mu.Lock()
		for _, l := range logs {
			if strings.Contains(l, "protocol") {
				t.Fatalf("log: %s", l)
			}
		}
		mu.Unlock()
	}
}

// TestWaitFromSeveralGoroutines: a request waited on by several goroutines
// wakes them all with the same result, and a recycled request (Free) does
// not carry the wake-up of its previous use into the next.
func TestWaitFromSeveralGoroutines(t *testing.T) {
	commtest.Run(t, 2, comm.Config{}, func(ctx context.Context, c *comm.Comm) error {
		for round := range 3 {
			if c.Rank() == 0 {
				// Send once rank 1's waiters are started.
				if _, err := comm.Recv(ctx, c, []byte{0}, 1, 1); err != nil {
					return err
				}
				if err := comm.Send(ctx, c, []int64{int64(round), 7}, 1, 2); err != nil {
					return err
				}
				continue
			}
			buf := make([]int64, 2)
			r := comm.Irecv(c, buf, 0, 2)
			const waiters = 4
			errs := make(chan error, waiters)
			for range waiters {
				go func() {
					st, err := r.Wait(ctx)
					switch {
					case err != nil:
						errs <- err
					case st.Source != 0 || st.Tag != 2 || st.Bytes != 16:
						errs <- fmt.Errorf("round %d: status %+v", round, st)
					case buf[0] != int64(round) || buf[1] != 7:
						errs <- fmt.Errorf("round %d: woke with %v before the data arrived", round, buf)
					default:
						errs <- nil
					}
				}()
			}
			if err := comm.Send(ctx, c, []byte{1}, 0, 1); err != nil {
				return err
			}
			for range waiters {
				if err := <-errs; err != nil {
					return err
				}
			}
			r.Free()
		}
		return nil
	})
}

// TestRecvAllocKeepsSmallUnexpected: small messages that wait as unexpected
// keep their payload inside a recycled record; a receive that allocates
// must get its own copy, not the record's memory, which the next
// unexpected message reuses.
func TestRecvAllocKeepsSmallUnexpected(t *testing.T) {
	commtest.Run(t, 2, comm.Config{}, func(ctx context.Context, c *comm.Comm) error {
		const n = 200
		if c.Rank() == 0 {
			for i := range n {
				msg := []byte(fmt.Sprintf("message %03d %s", i, strings.Repeat("x", i%60)))
				if err := comm.Send(ctx, c, msg, 1, 3); err != nil {
					return err
				}
			}
			// Then more traffic, which reuses the records.
			_, err := comm.Recv(ctx, c, []byte{0}, 1, 4)
			if err != nil {
				return err
			}
			for i := range n {
				if err := comm.Send(ctx, c, []byte(fmt.Sprintf("other %03d", i)), 1, 5); err != nil {
					return err
				}
			}
			return nil
		}
		got := make([][]byte, n)
		for i := range n {
			b, _, err := c.RecvAlloc(ctx, 0, 3)
			if err != nil {
				return err
			}
			got[i] = b
		}
		if err := comm.Send(ctx, c, []byte{1}, 0, 4); err != nil {
			return err
		}
		for range n {
			if _, _, err := c.RecvAlloc(ctx, 0, 5); err != nil {
				return err
			}
		}
		for i, b := range got {
			want := fmt.Sprintf("message %03d %s", i, strings.Repeat("x", i%60))
			if string(b) != want {
				return fmt.Errorf("message %d: got %q, want %q", i, b, want)
			}
		}
		return nil
	})
}
