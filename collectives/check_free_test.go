package collectives_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// A mismatch case: a collective whose count one rank, k, gets wrong.
type mmCase struct {
	coll string // its name in Algorithms
	// run makes rank c.Rank()'s call with block count n and returns its
	// output (nil where the rank has none).
	run func(ctx context.Context, c *comm.Comm, n, root int, opts []collectives.Option) ([]int64, error)
	// want is rank r's output of a well-formed call with count n on p
	// ranks (nil: no output, or one not defined).
	want func(p, r, n, root int) []int64
	// alone reports whether rank r's output depends on no other rank
	// (a rank that only sends: it may complete even when it is k).
	alone func(r, root int) bool
}

// mmVal is the element i of rank r's input (of block j for the blocked
// calls), prefix-consistent so that a shorter input is a prefix of the
// longer one.
func mmVal(r, j, i int) int64 { return int64(r*1_000_000 + j*10_000 + i + 1) }

func mmData(r, n int) []int64 {
	s := make([]int64, n)
	for i := range s {
		s[i] = mmVal(r, 0, i)
	}
	return s
}

// mmBlocks is rank r's input of p blocks of n elements.
func mmBlocks(r, p, n int) []int64 {
	s := make([]int64, 0, p*n)
	for j := range p {
		for i := range n {
			s = append(s, mmVal(r, j, i))
		}
	}
	return s
}

func mmSum(p, n int, from, to int, block int) []int64 {
	out := make([]int64, n)
	for r := from; r < to; r++ {
		for i := range out {
			out[i] += mmVal(r, block, i)
		}
	}
	return out
}

func never(r, root int) bool { return false }

var mmCases = []mmCase{
	{coll: "bcast",
		run: func(ctx context.Context, c *comm.Comm, n, root int, opts []collectives.Option) ([]int64, error) {
			buf := make([]int64, n)
			if c.Rank() == root {
				buf = mmData(root, n)
			}
			return buf, collectives.Bcast(ctx, c, buf, root, opts...)
		},
		want:  func(p, r, n, root int) []int64 { return mmData(root, n) },
		alone: func(r, root int) bool { return r == root },
	},
	{coll: "reduce",
		run: func(ctx context.Context, c *comm.Comm, n, root int, opts []collectives.Option) ([]int64, error) {
			var dst []int64
			if c.Rank() == root {
				dst = make([]int64, n)
			}
			return dst, collectives.Reduce(ctx, c, dst, mmData(c.Rank(), n), collectives.Sum[int64](), root, opts...)
		},
		want: func(p, r, n, root int) []int64 {
			if r != root {
				return nil
			}
			return mmSum(p, n, 0, p, 0)
		},
		alone: func(r, root int) bool { return r != root },
	},
	{coll: "allreduce",
		run: func(ctx context.Context, c *comm.Comm, n, root int, opts []collectives.Option) ([]int64, error) {
			dst := make([]int64, n)
			return dst, collectives.Allreduce(ctx, c, dst, mmData(c.Rank(), n), collectives.Sum[int64](), opts...)
		},
		want:  func(p, r, n, root int) []int64 { return mmSum(p, n, 0, p, 0) },
		alone: never,
	},
	{coll: "allgather",
		run: func(ctx context.Context, c *comm.Comm, n, root int, opts []collectives.Option) ([]int64, error) {
			dst := make([]int64, c.Size()*n)
			return dst, collectives.Allgather(ctx, c, dst, mmData(c.Rank(), n), opts...)
		},
		want: func(p, r, n, root int) []int64 {
			var s []int64
			for q := range p {
				s = append(s, mmData(q, n)...)
			}
			return s
		},
		alone: never,
	},
	{coll: "alltoall",
		run: func(ctx context.Context, c *comm.Comm, n, root int, opts []collectives.Option) ([]int64, error) {
			dst := make([]int64, c.Size()*n)
			return dst, collectives.Alltoall(ctx, c, dst, mmBlocks(c.Rank(), c.Size(), n), opts...)
		},
		want: func(p, r, n, root int) []int64 {
			var s []int64
			for q := range p {
				for i := range n {
					s = append(s, mmVal(q, r, i))
				}
			}
			return s
		},
		alone: never,
	},
	{coll: "gather",
		run: func(ctx context.Context, c *comm.Comm, n, root int, opts []collectives.Option) ([]int64, error) {
			var dst []int64
			if c.Rank() == root {
				dst = make([]int64, c.Size()*n)
			}
			return dst, collectives.Gather(ctx, c, dst, mmData(c.Rank(), n), root, opts...)
		},
		want: func(p, r, n, root int) []int64 {
			if r != root {
				return nil
			}
			var s []int64
			for q := range p {
				s = append(s, mmData(q, n)...)
			}
			return s
		},
		// A rank that only sends (linear, a binomial leaf) does not see
		// the mismatch; an inner rank of a binomial tree does.
		alone: func(r, root int) bool { return r != root },
	},
	{coll: "scatter",
		run: func(ctx context.Context, c *comm.Comm, n, root int, opts []collectives.Option) ([]int64, error) {
			var src []int64
			if c.Rank() == root {
				src = mmBlocks(root, c.Size(), n)
			}
			dst := make([]int64, n)
			return dst, collectives.Scatter(ctx, c, dst, src, root, opts...)
		},
		want: func(p, r, n, root int) []int64 {
			s := make([]int64, n)
			for i := range s {
				s[i] = mmVal(root, r, i)
			}
			return s
		},
		alone: func(r, root int) bool { return r == root },
	},
	{coll: "reducescatter",
		run: func(ctx context.Context, c *comm.Comm, n, root int, opts []collectives.Option) ([]int64, error) {
			dst := make([]int64, n)
			return dst, collectives.ReduceScatterBlock(ctx, c, dst, mmBlocks(c.Rank(), c.Size(), n), collectives.Sum[int64](), opts...)
		},
		want:  func(p, r, n, root int) []int64 { return mmSum(p, n, 0, p, r) },
		alone: never,
	},
	{coll: "scan",
		run: func(ctx context.Context, c *comm.Comm, n, root int, opts []collectives.Option) ([]int64, error) {
			dst := make([]int64, n)
			return dst, collectives.Scan(ctx, c, dst, mmData(c.Rank(), n), collectives.Sum[int64](), opts...)
		},
		want:  func(p, r, n, root int) []int64 { return mmSum(p, n, 0, r+1, 0) },
		alone: never,
	},
	{coll: "exscan",
		run: func(ctx context.Context, c *comm.Comm, n, root int, opts []collectives.Option) ([]int64, error) {
			dst := make([]int64, n)
			return dst, collectives.Exscan(ctx, c, dst, mmData(c.Rank(), n), collectives.Sum[int64](), opts...)
		},
		want: func(p, r, n, root int) []int64 {
			if r == 0 {
				return nil
			}
			return mmSum(p, n, 0, r, 0)
		},
		alone: never,
	},
}

// The v-variants, with every rank believing every count is its own n.
var mmVCases = []mmCase{
	{coll: "allgatherv",
		run: func(ctx context.Context, c *comm.Comm, n, root int, opts []collectives.Option) ([]int64, error) {
			dst := make([]int64, c.Size()*n)
			return dst, collectives.Allgatherv(ctx, c, dst, same(c.Size(), n), nil, mmData(c.Rank(), n), opts...)
		},
		want:  mmCases[3].want,
		alone: never,
	},
	{coll: "alltoallv",
		run: func(ctx context.Context, c *comm.Comm, n, root int, opts []collectives.Option) ([]int64, error) {
			p := c.Size()
			dst := make([]int64, p*n)
			return dst, collectives.Alltoallv(ctx, c, dst, same(p, n), nil, mmBlocks(c.Rank(), p, n), same(p, n), nil, opts...)
		},
		want:  mmCases[4].want,
		alone: never,
	},
	{coll: "gatherv",
		run: func(ctx context.Context, c *comm.Comm, n, root int, opts []collectives.Option) ([]int64, error) {
			var dst []int64
			var cnt []int
			if c.Rank() == root {
				dst, cnt = make([]int64, c.Size()*n), same(c.Size(), n)
			}
			return dst, collectives.Gatherv(ctx, c, dst, cnt, nil, mmData(c.Rank(), n), root, opts...)
		},
		want:  mmCases[5].want,
		alone: mmCases[5].alone,
	},
	{coll: "scatterv",
		run: func(ctx context.Context, c *comm.Comm, n, root int, opts []collectives.Option) ([]int64, error) {
			var src []int64
			var cnt []int
			if c.Rank() == root {
				src, cnt = mmBlocks(root, c.Size(), n), same(c.Size(), n)
			}
			dst := make([]int64, n)
			return dst, collectives.Scatterv(ctx, c, dst, src, cnt, nil, root, opts...)
		},
		want:  mmCases[6].want,
		alone: mmCases[6].alone,
	},
}

func same(p, n int) []int {
	s := make([]int, p)
	for i := range s {
		s[i] = n
	}
	return s
}

// mmOutcome is what one rank's call did.
type mmOutcome struct {
	out []int64
	err error
}

// runMismatch runs one mismatch case on world w: rank k uses count m,
// the others n. When a rank fails, the case's context is cancelled (as
// gorun aborts a job whose rank fails), which must release every rank
// still waiting; a rank still running after the deadline is a hang.
func runMismatch(t *testing.T, comms []*comm.Comm, cs mmCase, opts []collectives.Option, n, m, k, root int) []mmOutcome {
	t.Helper()
	p := len(comms)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res := make([]mmOutcome, p)
	done := make(chan int, p)
	for r, c := range comms {
		go func() {
			cnt := n
			if r == k {
				cnt = m
			}
			res[r].out, res[r].err = cs.run(ctx, c, cnt, root, opts)
			done <- r
		}()
	}
	for range p {
		select {
		case r := <-done:
			if res[r].err != nil {
				cancel()
			}
		case <-time.After(25 * time.Second):
			t.Fatalf("ranks hang after a mismatch")
		}
	}
	return res
}

// judgeMismatch checks the outcome of a mismatch: some rank reports it
// (an error wrapping collectives.ErrMismatch), every other error is that
// or the cancellation that follows it, and a rank that completes has the
// right data (it needed nothing from the mismatched rank) or needed no one.
func judgeMismatch(cs mmCase, res []mmOutcome, n, k, root int) error {
	p := len(res)
	var errs []error
	seen := false
	for r, o := range res {
		if o.err != nil {
			if errors.Is(o.err, collectives.ErrMismatch) {
				seen = true
			} else if !errors.Is(o.err, context.Canceled) {
				errs = append(errs, fmt.Errorf("rank %d: unexpected error %w", r, o.err))
			}
			continue
		}
		if r == k {
			if !cs.alone(r, root) {
				errs = append(errs, fmt.Errorf("rank %d (the mismatched one) completed", r))
			}
			continue
		}
		if want := cs.want(p, r, n, root); want != nil && !slices.Equal(o.out, want) {
			errs = append(errs, fmt.Errorf("rank %d completed with wrong data: %v", r, firstDiff(o.out, want)))
		}
	}
	if !seen {
		errs = append(errs, fmt.Errorf("no rank reported ErrMismatch"))
	}
	return errors.Join(errs...)
}

func firstDiff(got, want []int64) string {
	if len(got) != len(want) {
		return fmt.Sprintf("len %d, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			return fmt.Sprintf("[%d] = %d, want %d", i, got[i], want[i])
		}
	}
	return "equal"
}

// TestFreeChecksCatchSizeMismatch: with checking off, every algorithm of
// every fixed-size collective, forced, turns a count that one rank gets
// wrong (larger or smaller, eager and rendezvous sizes, the root or
// another rank) into an error wrapping ErrMismatch on the ranks that
// receive the wrong size, and the others error or complete with correct
// data instead of hanging.
func TestFreeChecksCatchSizeMismatch(t *testing.T) {
	for _, p := range []int{1, 2, 3, 5, 8} {
		t.Run(fmt.Sprintf("np=%d", p), func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			w, err := commtest.Start(ctx, p, testCfg)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				w.Store.Set(context.Background(), "abort", []byte("test over"))
				w.Close()
			}()
			comms := slices.Clone(w.Comms)
			for _, cs := range append(slices.Clone(mmCases), mmVCases...) {
				for alg, opts := range sorted(algs(cs.coll)) {
					for _, n := range []int{7, 700} {
						for _, d := range []int{1, -1} {
							for _, k := range uniq(0, p-1, p/2) {
								for _, root := range uniq(0, p-1) {
									if !slices.Contains([]string{"bcast", "reduce", "gather", "scatter", "gatherv", "scatterv"}, cs.coll) && root != 0 {
										continue
									}
									what := fmt.Sprintf("%s/%s n=%d k=%d has %d root=%d", cs.coll, alg, n, k, n+d, root)
									res := runMismatch(t, comms, cs, opts, n, n+d, k, root)
									if slices.ContainsFunc(res, func(o mmOutcome) bool { return o.err != nil }) {
										// After a call that failed, the ranks' counts
										// of shared calls may differ: the next case
										// runs on new communicators, as the package
										// doc advises.
										for r, c := range comms {
											comms[r] = c.Dup()
										}
									}
									if p == 1 {
										if res[0].err != nil {
											t.Errorf("%s: %v", what, res[0].err)
										}
										continue
									}
									if err := judgeMismatch(cs, res, n, k, root); err != nil {
										t.Errorf("%s: %v", what, err)
									}
								}
							}
						}
					}
				}
			}
		})
	}
}

func uniq(xs ...int) []int {
	var out []int
	for _, x := range xs {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}
