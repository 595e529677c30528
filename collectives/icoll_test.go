package collectives_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// icase is one collective for the non-blocking tests: run starts it (nb)
// or runs it (blocking) at n elements a block with opts, and returns its
// output buffer (read once the request has completed).
type icase struct {
	name, coll string
	run        func(ctx context.Context, c *comm.Comm, n int, opts []collectives.Option, nb bool) ([]float64, *comm.Request, error)
}

// idata is rank r's input: values whose sums round, so that results
// depend on the combination order and bitwise equality with the blocking
// call checks that the same algorithm ran.
func idata(r, n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = 1 / float64(3+r*7+i)
	}
	return s
}

// both runs a collective blocking or starts it, on the same arguments.
func both(nb bool, block func() error, start func() *comm.Request) (*comm.Request, error) {
	if nb {
		return start(), nil
	}
	return nil, block()
}

func icases() []icase {
	sum := collectives.Sum[float64]()
	return []icase{
		{"Barrier", "barrier", func(ctx context.Context, c *comm.Comm, n int, o []collectives.Option, nb bool) ([]float64, *comm.Request, error) {
			req, err := both(nb, func() error { return collectives.Barrier(ctx, c, o...) },
				func() *comm.Request { return collectives.Ibarrier(ctx, c, o...) })
			return nil, req, err
		}},
		{"Bcast", "bcast", func(ctx context.Context, c *comm.Comm, n int, o []collectives.Option, nb bool) ([]float64, *comm.Request, error) {
			root := c.Size() / 2
			buf := make([]float64, n)
			if c.Rank() == root {
				buf = idata(root, n)
			}
			req, err := both(nb, func() error { return collectives.Bcast(ctx, c, buf, root, o...) },
				func() *comm.Request { return collectives.Ibcast(ctx, c, buf, root, o...) })
			return buf, req, err
		}},
		{"Reduce", "reduce", func(ctx context.Context, c *comm.Comm, n int, o []collectives.Option, nb bool) ([]float64, *comm.Request, error) {
			root := c.Size() - 1
			dst, src := make([]float64, n), idata(c.Rank(), n)
			req, err := both(nb, func() error { return collectives.Reduce(ctx, c, dst, src, sum, root, o...) },
				func() *comm.Request { return collectives.Ireduce(ctx, c, dst, src, sum, root, o...) })
			if c.Rank() != root {
				dst = nil
			}
			return dst, req, err
		}},
		{"Allreduce", "allreduce", func(ctx context.Context, c *comm.Comm, n int, o []collectives.Option, nb bool) ([]float64, *comm.Request, error) {
			dst, src := make([]float64, n), idata(c.Rank(), n)
			req, err := both(nb, func() error { return collectives.Allreduce(ctx, c, dst, src, sum, o...) },
				func() *comm.Request { return collectives.Iallreduce(ctx, c, dst, src, sum, o...) })
			return dst, req, err
		}},
		{"Gather", "gather", func(ctx context.Context, c *comm.Comm, n int, o []collectives.Option, nb bool) ([]float64, *comm.Request, error) {
			dst, src := make([]float64, n*c.Size()), idata(c.Rank(), n)
			req, err := both(nb, func() error { return collectives.Gather(ctx, c, dst, src, 0, o...) },
				func() *comm.Request { return collectives.Igather(ctx, c, dst, src, 0, o...) })
			return dst, req, err
		}},
		{"Gatherv", "gatherv", func(ctx context.Context, c *comm.Comm, n int, o []collectives.Option, nb bool) ([]float64, *comm.Request, error) {
			counts := vcounts(c.Size(), n)
			dst, src := make([]float64, sumInts(counts)), idata(c.Rank(), counts[c.Rank()])
			root := c.Size() / 2
			req, err := both(nb, func() error { return collectives.Gatherv(ctx, c, dst, counts, nil, src, root, o...) },
				func() *comm.Request { return collectives.Igatherv(ctx, c, dst, counts, nil, src, root, o...) })
			return dst, req, err
		}},
		{"Scatter", "scatter", func(ctx context.Context, c *comm.Comm, n int, o []collectives.Option, nb bool) ([]float64, *comm.Request, error) {
			dst, src := make([]float64, n), idata(9, n*c.Size())
			req, err := both(nb, func() error { return collectives.Scatter(ctx, c, dst, src, 0, o...) },
				func() *comm.Request { return collectives.Iscatter(ctx, c, dst, src, 0, o...) })
			return dst, req, err
		}},
		{"Scatterv", "scatterv", func(ctx context.Context, c *comm.Comm, n int, o []collectives.Option, nb bool) ([]float64, *comm.Request, error) {
			counts := vcounts(c.Size(), n)
			dst, src := make([]float64, counts[c.Rank()]), idata(9, sumInts(counts))
			root := c.Size() - 1
			req, err := both(nb, func() error { return collectives.Scatterv(ctx, c, dst, src, counts, nil, root, o...) },
				func() *comm.Request { return collectives.Iscatterv(ctx, c, dst, src, counts, nil, root, o...) })
			return dst, req, err
		}},
		{"Allgather", "allgather", func(ctx context.Context, c *comm.Comm, n int, o []collectives.Option, nb bool) ([]float64, *comm.Request, error) {
			dst, src := make([]float64, n*c.Size()), idata(c.Rank(), n)
			req, err := both(nb, func() error { return collectives.Allgather(ctx, c, dst, src, o...) },
				func() *comm.Request { return collectives.Iallgather(ctx, c, dst, src, o...) })
			return dst, req, err
		}},
		{"Allgatherv", "allgatherv", func(ctx context.Context, c *comm.Comm, n int, o []collectives.Option, nb bool) ([]float64, *comm.Request, error) {
			counts := vcounts(c.Size(), n)
			dst, src := make([]float64, sumInts(counts)), idata(c.Rank(), counts[c.Rank()])
			req, err := both(nb, func() error { return collectives.Allgatherv(ctx, c, dst, counts, nil, src, o...) },
				func() *comm.Request { return collectives.Iallgatherv(ctx, c, dst, counts, nil, src, o...) })
			return dst, req, err
		}},
		{"Alltoall", "alltoall", func(ctx context.Context, c *comm.Comm, n int, o []collectives.Option, nb bool) ([]float64, *comm.Request, error) {
			dst, src := make([]float64, n*c.Size()), idata(c.Rank(), n*c.Size())
			req, err := both(nb, func() error { return collectives.Alltoall(ctx, c, dst, src, o...) },
				func() *comm.Request { return collectives.Ialltoall(ctx, c, dst, src, o...) })
			return dst, req, err
		}},
		{"Alltoallv", "alltoallv", func(ctx context.Context, c *comm.Comm, n int, o []collectives.Option, nb bool) ([]float64, *comm.Request, error) {
			p, r := c.Size(), c.Rank()
			counts := make([]int, p) // rank r sends (r+j)%3+n to rank j, and receives as much
			for j := range counts {
				counts[j] = (r+j)%3 + n
			}
			dst, src := make([]float64, sumInts(counts)), idata(r, sumInts(counts))
			req, err := both(nb, func() error { return collectives.Alltoallv(ctx, c, dst, counts, nil, src, counts, nil, o...) },
				func() *comm.Request { return collectives.Ialltoallv(ctx, c, dst, counts, nil, src, counts, nil, o...) })
			return dst, req, err
		}},
		{"ReduceScatter", "reducescatter", func(ctx context.Context, c *comm.Comm, n int, o []collectives.Option, nb bool) ([]float64, *comm.Request, error) {
			counts := vcounts(c.Size(), n)
			dst, src := make([]float64, counts[c.Rank()]), idata(c.Rank(), sumInts(counts))
			req, err := both(nb, func() error { return collectives.ReduceScatter(ctx, c, dst, src, counts, sum, o...) },
				func() *comm.Request { return collectives.IreduceScatter(ctx, c, dst, src, counts, sum, o...) })
			return dst, req, err
		}},
		{"ReduceScatterBlock", "reducescatter", func(ctx context.Context, c *comm.Comm, n int, o []collectives.Option, nb bool) ([]float64, *comm.Request, error) {
			dst, src := make([]float64, n), idata(c.Rank(), n*c.Size())
			req, err := both(nb, func() error { return collectives.ReduceScatterBlock(ctx, c, dst, src, sum, o...) },
				func() *comm.Request { return collectives.IreduceScatterBlock(ctx, c, dst, src, sum, o...) })
			return dst, req, err
		}},
		{"Scan", "scan", func(ctx context.Context, c *comm.Comm, n int, o []collectives.Option, nb bool) ([]float64, *comm.Request, error) {
			dst, src := make([]float64, n), idata(c.Rank(), n)
			req, err := both(nb, func() error { return collectives.Scan(ctx, c, dst, src, sum, o...) },
				func() *comm.Request { return collectives.Iscan(ctx, c, dst, src, sum, o...) })
			return dst, req, err
		}},
		{"Exscan", "exscan", func(ctx context.Context, c *comm.Comm, n int, o []collectives.Option, nb bool) ([]float64, *comm.Request, error) {
			dst, src := make([]float64, n), idata(c.Rank(), n)
			req, err := both(nb, func() error { return collectives.Exscan(ctx, c, dst, src, sum, o...) },
				func() *comm.Request { return collectives.Iexscan(ctx, c, dst, src, sum, o...) })
			return dst, req, err
		}},
	}
}

func sumInts(xs []int) int {
	s := 0
	for _, x := range xs {
		s += x
	}
	return s
}

// TestNonBlockingCollectives starts, for each collective, one non-blocking
// call per algorithm (each forced, and the selector's choice) so that all
// are in flight at once, runs the blocking call of every algorithm while
// they are, then waits for the requests in one WaitAll and checks that
// each gave bitwise the blocking call's result (within a tolerance where
// the blocking call may have taken the shared-memory algorithm).
func TestNonBlockingCollectives(t *testing.T) {
	for _, np := range nps(t) {
		t.Run(fmt.Sprintf("np=%d", np), func(t *testing.T) {
			commtest.Run(t, np, testCfg, func(ctx context.Context, c *comm.Comm) error {
				var ck checker
				for _, tc := range icases() {
					for _, n := range []int{0, 7, 2600} {
						type run struct {
							alg string
							out []float64
						}
						var started []run
						var reqs []*comm.Request
						for alg, opts := range sorted(algs(tc.coll)) {
							out, req, _ := tc.run(ctx, c, n, opts, true)
							started = append(started, run{alg, out})
							reqs = append(reqs, req)
						}
						var want [][]float64
						for alg, opts := range sorted(algs(tc.coll)) {
							out, _, err := tc.run(ctx, c, n, opts, false)
							if err != nil {
								return fmt.Errorf("%s %s n=%d blocking: %w", tc.name, alg, n, err)
							}
							want = append(want, out)
						}
						if err := comm.WaitAll(ctx, reqs...); err != nil {
							return fmt.Errorf("%s n=%d: %w", tc.name, n, err)
						}
						for i, s := range started {
							// A blocking call on one host may take the
							// "shared" algorithm (forced, or the
							// selector's choice), which a non-blocking one
							// cannot: its sums may then differ in the
							// last bits.
							tol := 0.0
							if s.alg == "shared" || s.alg == "auto" {
								tol = 1e-12
							}
							ck.add(compare(s.out, want[i], tol), "%s %s n=%d", tc.name, s.alg, n)
						}
					}
				}
				return ck.err()
			})
		})
	}
}

// TestNonBlockingOrderAndMix interleaves non-blocking and blocking
// collectives and point-to-point requests: many Iallreduce and Ibcast in
// flight, a blocking Allreduce between them, and a user send and receive
// waited on in the same comm.WaitAll, with requests completed in the
// reverse order of their start.
func TestNonBlockingOrderAndMix(t *testing.T) {
	for _, np := range []int{1, 2, 3, 5, 8} {
		t.Run(fmt.Sprintf("np=%d", np), func(t *testing.T) {
			commtest.Run(t, np, testCfg, func(ctx context.Context, c *comm.Comm) error {
				p, r := c.Size(), c.Rank()
				const k = 12
				sums := make([][]int64, k)
				bufs := make([][]int32, k)
				var reqs []*comm.Request
				for i := range k {
					sums[i] = make([]int64, 300)
					src := make([]int64, 300)
					for j := range src {
						src[j] = int64(r*i + j)
					}
					reqs = append(reqs, collectives.Iallreduce(ctx, c, sums[i], src, collectives.Sum[int64]()))
					bufs[i] = make([]int32, 500)
					if r == i%p {
						for j := range bufs[i] {
							bufs[i][j] = int32(i*j + 1)
						}
					}
					reqs = append(reqs, collectives.Ibcast(ctx, c, bufs[i], i%p))
					if i == k/2 {
						got := []int{0}
						if err := collectives.Allreduce(ctx, c, got, []int{r}, collectives.Sum[int]()); err != nil {
							return err
						}
						if got[0] != p*(p-1)/2 {
							return fmt.Errorf("blocking Allreduce among them: %d", got[0])
						}
					}
				}
				in := []int{-1}
				reqs = append(reqs, comm.Irecv(c, in, (r+p-1)%p, 3), comm.Isend(c, []int{r}, (r+1)%p, 3))
				for i := len(reqs) - 1; i >= 0; i-- {
					if _, err := reqs[i].Wait(ctx); err != nil {
						return fmt.Errorf("request %d: %w", i, err)
					}
				}
				if err := comm.WaitAll(ctx, reqs...); err != nil { // completed: the same results again
					return err
				}
				if in[0] != (r+p-1)%p {
					return fmt.Errorf("user message %d", in[0])
				}
				for i := range k {
					for j := range 300 {
						if want := int64(i*p*(p-1)/2 + p*j); sums[i][j] != want {
							return fmt.Errorf("Iallreduce %d [%d] = %d, want %d", i, j, sums[i][j], want)
						}
					}
					for j := range bufs[i] {
						if bufs[i][j] != int32(i*j+1) {
							return fmt.Errorf("Ibcast %d [%d] = %d", i, j, bufs[i][j])
						}
					}
				}
				return nil
			})
		})
	}
}

// TestNonBlockingProgress: the root of a large Ibcast never waits on its
// request (nor calls comm at all) until every other rank has completed
// the broadcast; the operation advances on its own.
func TestNonBlockingProgress(t *testing.T) {
	for _, np := range []int{2, 3, 5} {
		t.Run(fmt.Sprintf("np=%d", np), func(t *testing.T) {
			var wg sync.WaitGroup
			wg.Add(np - 1)
			all := make(chan struct{})
			go func() { wg.Wait(); close(all) }()
			commtest.Run(t, np, testCfg, func(ctx context.Context, c *comm.Comm) error {
				buf := make([]float64, 100000) // far above testCfg's eager limit: rendezvous
				if c.Rank() == 0 {
					for i := range buf {
						buf[i] = float64(i)
					}
				}
				req := collectives.Ibcast(ctx, c, buf, 0, collectives.WithAlgorithm("binomial"))
				if c.Rank() == 0 {
					select {
					case <-all:
					case <-ctx.Done():
						return fmt.Errorf("the others did not complete while the root computed: %w", ctx.Err())
					}
					_, err := req.Wait(ctx)
					return err
				}
				defer wg.Done()
				if _, err := req.Wait(ctx); err != nil {
					return err
				}
				if buf[99999] != 99999 {
					return fmt.Errorf("buf[99999] = %v", buf[99999])
				}
				return nil
			})
		})
	}
}

// TestNonBlockingDeadline: a non-blocking collective that a rank never
// joins fails with its ctx's error when ctx ends, and a Wait bounded by a
// shorter ctx returns that ctx's error while the request stays pending.
func TestNonBlockingDeadline(t *testing.T) {
	// Rank 2 never receives what the others sent it.
	commtest.RunUnmatched(t, 3, testCfg, func(ctx context.Context, c *comm.Comm) error {
		if c.Rank() == 2 {
			return nil // never joins
		}
		opctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		req := collectives.Iallreduce(opctx, c, make([]float64, 10), make([]float64, 10), collectives.Sum[float64]())
		short, cancel2 := context.WithTimeout(ctx, 10*time.Millisecond)
		defer cancel2()
		if _, err := req.Wait(short); !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("short wait: %v, want a deadline error", err)
		}
		if done, _, _ := req.Test(); done {
			return errors.New("request completed without rank 2")
		}
		if req.Cancel() {
			return errors.New("a collective request was cancelled")
		}
		_, err := req.Wait(ctx)
		if !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("operation: %v, want a deadline error", err)
		}
		return nil
	})
}

// TestNonBlockingBadArgument: a bad argument fails the request with an
// error wrapping comm.ErrInvalidArgument instead of panicking on the
// operation's goroutine.
func TestNonBlockingBadArgument(t *testing.T) {
	commtest.Run(t, 2, testCfg, func(ctx context.Context, c *comm.Comm) error {
		for name, req := range map[string]*comm.Request{
			"root":   collectives.Ibcast(ctx, c, []int{1}, 5),
			"length": collectives.Iallreduce(ctx, c, make([]float64, 3), make([]float64, 4), collectives.Sum[float64]()),
			"alg":    collectives.Ibarrier(ctx, c, collectives.WithAlgorithm("bogus")),
		} {
			if _, err := req.Wait(ctx); !errors.Is(err, comm.ErrInvalidArgument) {
				return fmt.Errorf("%s: %v, want ErrInvalidArgument", name, err)
			}
		}
		return nil
	})
}

// ExampleIallreduce starts a sum over 4 in-process ranks, computes while
// it is in flight, and waits for it together with a point-to-point
// receive.
func ExampleIallreduce() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w, err := commtest.Start(ctx, 4, comm.Config{})
	if err != nil {
		panic(err)
	}
	defer w.Close()
	var wg sync.WaitGroup
	for _, c := range w.Comms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, p := c.Rank(), c.Size()
			grad := []float64{float64(r), 1}
			sum := make([]float64, 2)
			req := collectives.Iallreduce(ctx, c, sum, grad, collectives.Sum[float64]())
			local := math.Sqrt(float64(r)) // work that overlaps the reduction
			token := []float64{0}
			recv := comm.Irecv(c, token, (r+p-1)%p, 0)
			send := comm.Isend(c, []float64{local}, (r+1)%p, 0)
			if err := comm.WaitAll(ctx, req, recv, send); err != nil {
				panic(err)
			}
			if r == 0 {
				fmt.Println(sum, token[0] == math.Sqrt(3))
			}
		}()
	}
	wg.Wait()
	// Output: [6 4] true
}
