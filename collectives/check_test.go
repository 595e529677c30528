package collectives_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// A checked case: the ranks of a communicator make calls that disagree
// on one thing, rank k being the odd one out.
type checkCase struct {
	name string
	// run makes rank c.Rank()'s calls on c and returns the first error.
	run func(ctx context.Context, c *comm.Comm, k int) error
	// on: with checking on, every rank fails with ErrMismatch and the same
	// message, which contains each of these (%k is replaced by k, %o by
	// the list of the other ranks).
	on []string
	// free: with checking off, some rank still fails with ErrMismatch (a
	// size differs); otherwise the ranks may complete with wrong data or
	// wait until the case's deadline, as without any check.
	free bool
}

func allreduceN[T collectives.Real](ctx context.Context, c *comm.Comm, n int, op collectives.Op[T], opts ...collectives.Option) error {
	dst := make([]T, n)
	src := make([]T, n)
	for i := range src {
		src[i] = T(c.Rank() + i)
	}
	return collectives.Allreduce(ctx, c, dst, src, op, opts...)
}

var checkCases = []checkCase{
	{name: "roots",
		run: func(ctx context.Context, c *comm.Comm, k int) error {
			root := 0
			if c.Rank() == k {
				root = 1
			}
			return collectives.Bcast(ctx, c, make([]float64, 5), root)
		},
		on: []string{"Bcast on comm ", "rank %k has root 1, ranks %o have root 0"},
	},
	{name: "counts",
		run: func(ctx context.Context, c *comm.Comm, k int) error {
			n := 20
			if c.Rank() == k {
				n = 10
			}
			return allreduceN(ctx, c, n, collectives.Sum[float64]())
		},
		on:   []string{"Allreduce on comm ", "rank %k has count 10, ranks %o have count 20"},
		free: true,
	},
	{name: "iallreduce-counts",
		// A non-blocking call is checked on its own goroutine.
		run: func(ctx context.Context, c *comm.Comm, k int) error {
			n := 6
			if c.Rank() == k {
				n = 5
			}
			_, err := collectives.Iallreduce(ctx, c, make([]int32, n), make([]int32, n), collectives.Sum[int32]()).Wait(ctx)
			return err
		},
		on:   []string{"Allreduce on comm ", "rank %k has count 5, ranks %o have count 6"},
		free: true,
	},
	{name: "float64-vs-int64",
		run: func(ctx context.Context, c *comm.Comm, k int) error {
			if c.Rank() == k {
				return allreduceN(ctx, c, 10, collectives.Sum[float64]())
			}
			return allreduceN(ctx, c, 10, collectives.Sum[int64]())
		},
		on: []string{"rank %k has element type float64 (8 bytes), ranks %o have element type int64 (8 bytes)"},
	},
	{name: "float32-vs-float64",
		run: func(ctx context.Context, c *comm.Comm, k int) error {
			if c.Rank() == k {
				return allreduceN(ctx, c, 300, collectives.Sum[float32]())
			}
			return allreduceN(ctx, c, 300, collectives.Sum[float64]())
		},
		on:   []string{"rank %k has element type float32 (4 bytes), ranks %o have element type float64 (8 bytes)"},
		free: true,
	},
	{name: "ops",
		run: func(ctx context.Context, c *comm.Comm, k int) error {
			op := collectives.Sum[int32]()
			if c.Rank() == k {
				op = collectives.Max[int32]()
			}
			return allreduceN(ctx, c, 4, op)
		},
		on: []string{`rank %k has op "max", ranks %o have op "sum"`},
	},
	{name: "algorithms",
		run: func(ctx context.Context, c *comm.Comm, k int) error {
			var opts []collectives.Option
			if c.Rank() == k {
				opts = append(opts, collectives.WithAlgorithm("ring"))
			}
			return allreduceN(ctx, c, 64, collectives.Sum[float64](), opts...)
		},
		on: []string{`rank %k forces algorithm "ring", ranks %o force algorithm none`},
	},
	{name: "alltoall-blocks",
		run: func(ctx context.Context, c *comm.Comm, k int) error {
			n := 4
			if c.Rank() == k {
				n = 3
			}
			p := c.Size()
			return collectives.Alltoall(ctx, c, make([]int16, p*n), make([]int16, p*n))
		},
		on:   []string{"Alltoall on comm ", "rank %k has count 3, ranks %o have count 4"},
		free: true,
	},
	{name: "bcast-only-on-root",
		// Rank k (the root) broadcasts alone; the others' next collective
		// is an Allreduce, which must not run against the Bcast's data.
		run: func(ctx context.Context, c *comm.Comm, k int) error {
			if c.Rank() == k {
				if err := collectives.Bcast(ctx, c, []int64{5}, k); err != nil {
					return err
				}
			}
			return allreduceN(ctx, c, 1, collectives.Sum[int64]())
		},
		on: []string{"collective #1 on comm ", "rank %k calls Bcast, ranks %o call Allreduce"},
	},
	{name: "dup-on-one-rank",
		run: func(ctx context.Context, c *comm.Comm, k int) error {
			if c.Rank() == k {
				c.Dup()
			}
			return collectives.Barrier(ctx, c)
		},
		on: []string{"Barrier on comm ", "rank %k has made 1 Dup/Split/Create calls, ranks %o have made 0 Dup/Split/Create calls", "calls on comm "},
	},
	{name: "split-vs-bcast",
		run: func(ctx context.Context, c *comm.Comm, k int) error {
			if c.Rank() == k {
				_, err := c.Split(ctx, 0, 0)
				return err
			}
			return collectives.Bcast(ctx, c, make([]int32, 3), 0)
		},
		on: []string{"collective #1 on comm ", "rank %k calls Split, ranks %o call Bcast"},
	},
	{name: "bad-argument-on-one-rank",
		// Rank k's Allreduce fails its own argument checks (src shorter
		// than dst): with checking on, the others fail too instead of
		// waiting for it.
		run: func(ctx context.Context, c *comm.Comm, k int) error {
			src := make([]float64, 4)
			if c.Rank() == k {
				src = src[:3]
				err := collectives.Allreduce(ctx, c, make([]float64, 4), src, collectives.Sum[float64]())
				if !errors.Is(err, comm.ErrInvalidArgument) {
					return fmt.Errorf("want ErrInvalidArgument, got %v", err)
				}
				return fmt.Errorf("%w (rank %d's own error: %w)", collectives.ErrMismatch, k, err)
			}
			return collectives.Allreduce(ctx, c, make([]float64, 4), src, collectives.Sum[float64]())
		},
		on: []string{"rank %k failed the argument checks, ranks %o passed the argument checks", "errors say why"},
	},
}

// rankPrefix is the part of a collective's error that names the rank.
var rankPrefix = regexp.MustCompile(`^(collectives: I\w+: )?(collectives: \w+ on rank \d+ of \d+|comm: split): `)

// TestCheckedCollectives runs each mismatch with checking on (Config.Check)
// and off, at np 2, 3, 5, 8, on a communicator of its own (a Dup of the
// world, so that a case leaves nothing behind for the next). On: every rank
// fails with ErrMismatch and one message naming the ranks and the field.
// Off: the size mismatches are still ErrMismatch on some rank; the others
// are what they were (wrong data, or a wait until the deadline).
func TestCheckedCollectives(t *testing.T) {
	for _, on := range []bool{true, false} {
		for _, p := range []int{2, 3, 5, 8} {
			t.Run(fmt.Sprintf("check=%v/np=%d", on, p), func(t *testing.T) {
				t.Parallel()
				cfg := testCfg
				cfg.Check = comm.Off
				if on {
					cfg.Check = comm.On
				}
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
				defer cancel()
				w, err := commtest.Start(ctx, p, cfg)
				if err != nil {
					t.Fatal(err)
				}
				defer func() {
					w.Store.Set(context.Background(), "abort", []byte("test over"))
					w.Close()
				}()
				for _, cs := range checkCases {
					k := p - 1
					if cs.name == "roots" && p == 2 {
						k = 0
					}
					errs := runChecked(t, w, cs, k, on)
					if on {
						judgeChecked(t, cs, errs, k)
					} else if cs.free && !anyMismatch(errs) {
						t.Errorf("%s: no rank reported ErrMismatch with checking off: %v", cs.name, errs)
					}
				}
			})
		}
	}
}

// runChecked runs cs on a fresh Dup of the world on every rank. With
// checking on, every rank must end by itself; off, the case's context
// ends after a few seconds (when no rank failed first).
func runChecked(t *testing.T, w *commtest.World, cs checkCase, k int, on bool) []error {
	t.Helper()
	p := len(w.Comms)
	limit := 20 * time.Second
	if !on {
		limit = 3 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	errs := make([]error, p)
	done := make(chan int, p)
	for r, c := range w.Comms {
		d := c.Dup()
		go func() {
			errs[r] = cs.run(ctx, d, k)
			done <- r
		}()
	}
	for range p {
		select {
		case r := <-done:
			if !on && errs[r] != nil {
				cancel() // as gorun aborts the job
			}
		case <-time.After(limit + 10*time.Second):
			t.Fatalf("%s: ranks hang", cs.name)
		}
	}
	return errs
}

func anyMismatch(errs []error) bool {
	for _, err := range errs {
		if errors.Is(err, collectives.ErrMismatch) {
			return true
		}
	}
	return false
}

func judgeChecked(t *testing.T, cs checkCase, errs []error, k int) {
	t.Helper()
	p := len(errs)
	var others []string
	for r := range p {
		if r != k {
			others = append(others, fmt.Sprint(r))
		}
	}
	o := strings.Join(others, ",")
	if p-1 > 2 {
		o = fmt.Sprintf("%s–%s", others[0], others[len(others)-1])
	}
	var first string
	for r, err := range errs {
		if !errors.Is(err, collectives.ErrMismatch) {
			t.Errorf("%s: rank %d: want ErrMismatch, got %v", cs.name, r, err)
			continue
		}
		if !rankPrefix.MatchString(err.Error()) {
			continue // a case's own summary of a rank's error
		}
		msg := rankPrefix.ReplaceAllString(err.Error(), "")
		if first == "" {
			first = msg
			t.Logf("%s np=%d: %s", cs.name, p, err)
			for _, want := range cs.on {
				if p == 2 {
					want = strings.NewReplacer("ranks %o have", "rank %o has", "ranks %o are", "rank %o is",
						"ranks %o call", "rank %o calls", "ranks %o force", "rank %o forces", "ranks %o passed", "rank %o passed").Replace(want)
				}
				want = strings.NewReplacer("%k", fmt.Sprint(k), "%o", o).Replace(want)
				// The groups come smallest first, then by their lowest rank.
				for _, part := range strings.Split(want, ", ") {
					if !strings.Contains(msg, part) {
						t.Errorf("%s: message %q lacks %q", cs.name, msg, part)
					}
				}
			}
		} else if msg != first {
			t.Errorf("%s: rank %d says %q, another rank %q", cs.name, r, msg, first)
		}
	}
}

// TestCheckNoFalseAlarms: with checking on, matching calls of every kind
// (v-variants with per-rank counts, non-blocking calls, Split, Create,
// value collectives, neighbourhood and sparse exchanges) run as they do
// without it, at np 1 to 8.
func TestCheckNoFalseAlarms(t *testing.T) {
	cfg := testCfg
	cfg.Check = comm.On
	for _, p := range []int{1, 2, 3, 5, 8} {
		t.Run(fmt.Sprintf("np=%d", p), func(t *testing.T) {
			commtest.Run(t, p, cfg, func(ctx context.Context, c *comm.Comm) error {
				r := c.Rank()
				ck := &checker{}
				// Per-rank counts: rank i sends i+1 elements.
				counts := make([]int, p)
				for i := range counts {
					counts[i] = i + 1
				}
				dst := make([]float64, sum(counts))
				ck.add(collectives.Allgatherv(ctx, c, dst, counts, nil, make([]float64, r+1)), "allgatherv")
				var gdst []float64
				var gcounts []int
				if r == 0 {
					gdst, gcounts = make([]float64, sum(counts)), counts
				}
				ck.add(collectives.Gatherv(ctx, c, gdst, gcounts, nil, make([]float64, r+1), 0), "gatherv")
				rq := collectives.Iallreduce(ctx, c, make([]int64, 3), make([]int64, 3), collectives.Sum[int64]())
				ck.add(collectives.Bcast(ctx, c, make([]byte, 9), p-1), "bcast")
				_, err := rq.Wait(ctx)
				ck.add(err, "iallreduce")
				s, err := c.Split(ctx, r%2, -r)
				ck.add(err, "split")
				if s != nil {
					ck.add(collectives.Barrier(ctx, s), "barrier on split")
				}
				var v string
				if r == 0 {
					v = "hello"
				}
				ck.add(collectives.BcastValue(ctx, c, &v, 0), "bcastvalue")
				var folded int
				ck.add(collectives.AllreduceValue(ctx, c, &folded, r, func(a, b int) int { return a + b }), "allreducevalue")
				g, err := collectives.NewCart(ctx, c, []int{p}, []bool{true})
				ck.add(err, "newcart")
				if g != nil {
					ck.add(collectives.NeighborAlltoall(ctx, g, make([]int32, 2), make([]int32, 2)), "neighbor alltoall")
				}
				_, err = collectives.SparseExchange(ctx, c, []int{(r + 1) % p}, [][]int8{{1, 2}})
				ck.add(err, "sparse")
				ck.add(collectives.ReduceScatter(ctx, c, make([]float32, r+1), make([]float32, sum(counts)), counts, collectives.Sum[float32]()), "reducescatter")
				ck.add(collectives.Exscan(ctx, c, make([]int, 2), make([]int, 2), collectives.Sum[int]()), "exscan")
				return ck.err()
			})
		})
	}
}

func sum(xs []int) int {
	s := 0
	for _, x := range xs {
		s += x
	}
	return s
}
