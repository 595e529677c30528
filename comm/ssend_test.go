package comm_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// TestSsendWaitsForMatch: a synchronous send of any size, to another rank
// or to itself, completes only after the receiver posted its receive (the
// receiver signals through a channel shared by the in-process ranks just
// before posting); a plain small Send completes at once.
func TestSsendWaitsForMatch(t *testing.T) {
	for _, size := range []int{0, 8, 100 << 10} {
		t.Run(fmt.Sprintf("bytes=%d", size), func(t *testing.T) {
			var posting sync.Map // receiver rank -> closed just before it posts
			for r := range 2 {
				posting.Store(r, make(chan struct{}))
			}
			commtest.Run(t, 2, comm.Config{}, func(ctx context.Context, c *comm.Comm) error {
				r := c.Rank()
				buf := make([]byte, size)
				if r == 0 {
					ch, _ := posting.Load(1)
					sreq := comm.Issend(c, buf, 1, 7)
					self := comm.Issend(c, buf, 0, 8) // to itself
					short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
					defer cancel()
					if _, err := sreq.Wait(short); !errors.Is(err, context.DeadlineExceeded) {
						return fmt.Errorf("Issend completed before rank 1 posted: %v", err)
					}
					if done, _, _ := self.Test(); done {
						return errors.New("self Issend completed before its receive")
					}
					close(ch.(chan struct{}))
					if _, err := sreq.Wait(ctx); err != nil {
						return err
					}
					if _, err := comm.Recv(ctx, c, make([]byte, size), 0, 8); err != nil {
						return err
					}
					if _, err := self.Wait(ctx); err != nil {
						return err
					}
					return comm.Ssend(ctx, c, []int{1}, 1, 9)
				}
				ch, _ := posting.Load(1)
				select {
				case <-ch.(chan struct{}):
				case <-ctx.Done():
					return ctx.Err()
				}
				if _, err := comm.Recv(ctx, c, buf, 0, 7); err != nil {
					return err
				}
				_, err := comm.Recv(ctx, c, []int{0}, 0, 9)
				return err
			})
		})
	}
}

// TestSsendCancel: an Issend nobody receives can be withdrawn; Ssend with
// a deadline returns it.
func TestSsendCancel(t *testing.T) {
	commtest.Run(t, 2, comm.Config{}, func(ctx context.Context, c *comm.Comm) error {
		if c.Rank() == 1 {
			return nil
		}
		short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		defer cancel()
		if err := comm.Ssend(short, c, []int{1}, 1, 3); !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("Ssend to a rank that never receives: %v", err)
		}
		return nil
	})
}

// TestMprobeConcurrent: goroutines probing the same source and tag with
// Mprobe (and Improbe) each receive a distinct message, and every message
// is received once, small and large alike; concurrent RecvValue from
// AnySource likewise.
func TestMprobeConcurrent(t *testing.T) {
	const msgs, workers = 60, 4
	for _, np := range []int{1, 2, 3, 5, 8} {
		t.Run(fmt.Sprintf("np=%d", np), func(t *testing.T) {
			commtest.Run(t, np, comm.Config{EagerLimit: 1 << 10}, func(ctx context.Context, c *comm.Comm) error {
				p, r := c.Size(), c.Rank()
				if r != 0 {
					for i := range msgs {
						n := 1 + (i%3)*900 // some above the eager limit
						buf := make([]int64, n)
						for j := range buf {
							buf[j] = int64(r*10000 + i)
						}
						if err := comm.Send(ctx, c, buf, 0, 1); err != nil {
							return err
						}
						if err := comm.SendValue(ctx, c, fmt.Sprintf("v%d-%d", r, i), 0, 2); err != nil {
							return err
						}
					}
					return nil
				}
				var mu sync.Mutex
				seen := map[int64]int{}
				values := map[string]int{}
				total := msgs * (p - 1)
				var wg sync.WaitGroup
				errs := make(chan error, 2*workers)
				var next sync.WaitGroup
				next.Add(total)
				var taken, vtaken int
				take := func(k *int) bool {
					mu.Lock()
					defer mu.Unlock()
					if *k == total {
						return false
					}
					*k++
					return true
				}
				for w := range workers {
					wg.Add(2)
					go func() {
						defer wg.Done()
						for take(&taken) {
							var m *comm.Message
							var err error
							if w%2 == 0 {
								m, err = c.Mprobe(ctx, comm.AnySource, 1)
							} else {
								for m == nil && err == nil && ctx.Err() == nil {
									m, _, err = c.Improbe(comm.AnySource, 1)
								}
							}
							if err != nil || m == nil {
								errs <- fmt.Errorf("probe: %v", err)
								return
							}
							buf := make([]int64, comm.Count[int64](m.Status()))
							if _, err := comm.Mrecv(ctx, m, buf); err != nil {
								errs <- err
								return
							}
							if _, err := comm.Mrecv(ctx, m, buf); !errors.Is(err, comm.ErrInvalidArgument) {
								errs <- fmt.Errorf("second Mrecv: %v", err)
								return
							}
							mu.Lock()
							seen[buf[0]]++
							mu.Unlock()
						}
					}()
					go func() {
						defer wg.Done()
						for take(&vtaken) {
							var s string
							if _, err := comm.RecvValue(ctx, c, &s, comm.AnySource, 2); err != nil {
								errs <- err
								return
							}
							mu.Lock()
							values[s]++
							mu.Unlock()
						}
					}()
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					return err
				}
				if len(seen) != total || len(values) != total {
					return fmt.Errorf("%d distinct messages and %d values, want %d", len(seen), len(values), total)
				}
				for k, n := range seen {
					if n != 1 {
						return fmt.Errorf("message %d received %d times", k, n)
					}
				}
				return nil
			})
		})
	}
}

// ExampleComm_Mprobe takes a message of unknown size and receives exactly it.
func ExampleComm_Mprobe() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w, err := commtest.Start(ctx, 2, comm.Config{})
	if err != nil {
		panic(err)
	}
	defer w.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := comm.Ssend(ctx, w.Comms[1], []float64{1, 2, 3}, 0, 5); err != nil {
			panic(err)
		}
	}()
	c := w.Comms[0]
	m, err := c.Mprobe(ctx, comm.AnySource, comm.AnyTag)
	if err != nil {
		panic(err)
	}
	buf := make([]float64, comm.Count[float64](m.Status()))
	st, err := comm.Mrecv(ctx, m, buf)
	if err != nil {
		panic(err)
	}
	<-done
	fmt.Println(st.Source, st.Tag, buf)
	// Output: 1 5 [1 2 3]
}

// TestMprobeCancelWhileSpinning: with one P (Mprobe then yield-polls for
// Config.Spin before parking) Mprobe returns ctx's error as soon as ctx
// ends, not only once the spin is over: package collectives' sparse
// exchange cancels a probe when its own sends complete.
func TestMprobeCancelWhileSpinning(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	commtest.Run(t, 2, comm.Config{Spin: time.Hour}, func(ctx context.Context, c *comm.Comm) error {
		short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		defer cancel()
		done := make(chan error, 1)
		go func() {
			_, err := c.Mprobe(short, comm.AnySource, 5) // nobody sends tag 5
			done <- err
		}()
		select {
		case err := <-done:
			if !errors.Is(err, context.DeadlineExceeded) {
				return fmt.Errorf("Mprobe: %v, want a deadline error", err)
			}
			return nil
		case <-time.After(20 * time.Second):
			return errors.New("Mprobe still spinning 20s after its ctx ended")
		}
	})
}

// TestSsendRing: every rank synchronously sends to the next around a ring
// (to itself at np 1) and receives from the previous, for messages on
// both sides of the eager limit; each Issend completes once matched.
func TestSsendRing(t *testing.T) {
	for _, np := range []int{1, 2, 3, 5, 8} {
		for _, n := range []int{0, 100, 3000} {
			t.Run(fmt.Sprintf("np=%d/n=%d", np, n), func(t *testing.T) {
				commtest.Run(t, np, comm.Config{EagerLimit: 1 << 10}, func(ctx context.Context, c *comm.Comm) error {
					p, r := c.Size(), c.Rank()
					out := make([]int32, n)
					for i := range out {
						out[i] = int32(r*100000 + i)
					}
					s := comm.Issend(c, out, (r+1)%p, 4)
					in := make([]int32, n)
					st, err := comm.Recv(ctx, c, in, (r+p-1)%p, 4)
					if err != nil {
						return err
					}
					if _, err := s.Wait(ctx); err != nil {
						return err
					}
					from := (r + p - 1) % p
					if st.Source != from || st.Bytes != 4*n {
						return fmt.Errorf("status %+v, want source %d and %d bytes", st, from, 4*n)
					}
					for i, v := range in {
						if v != int32(from*100000+i) {
							return fmt.Errorf("element %d = %d", i, v)
						}
					}
					// Blocking Ssend to the next, in rank order around the
					// ring so that nobody waits for itself (at np 1 an
					// Ssend to itself before its receive would, as in MPI).
					if p == 1 {
						return nil
					}
					if r == 0 {
						if err := comm.Ssend(ctx, c, out, (r+1)%p, 5); err != nil {
							return err
						}
					}
					if _, err := comm.Recv(ctx, c, in, (r+p-1)%p, 5); err != nil {
						return err
					}
					if r != 0 {
						return comm.Ssend(ctx, c, out, (r+1)%p, 5)
					}
					return nil
				})
			})
		}
	}
}

// ExampleSsend: a synchronous send returns only once the receiver has
// matched it, so on return the sender knows the message has been taken.
func ExampleSsend() {
	lines, err := commtest.Lines(2, comm.Config{}, time.Minute, func(ctx context.Context, c *comm.Comm) (string, error) {
		if c.Rank() == 0 {
			if err := comm.Ssend(ctx, c, []float64{2.5}, 1, 0); err != nil {
				return "", err
			}
			return "rank 0: rank 1 has matched the message", nil
		}
		x := []float64{0}
		if _, err := comm.Recv(ctx, c, x, 0, 0); err != nil {
			return "", err
		}
		return fmt.Sprint("rank 1: got ", x[0]), nil
	})
	if err != nil {
		panic(err)
	}
	for _, l := range lines {
		fmt.Println(l)
	}
	// Output:
	// rank 0: rank 1 has matched the message
	// rank 1: got 2.5
}
