package collectives_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// argCase is one collective called with one bad argument. Every rank calls
// run with the same arguments (root is the root the case uses when its
// argument is fine). An every-rank case must fail on every rank with want,
// before any communication: it is also run with a context that has ended,
// and must still report want, not the context. A rootOnly case is bad in
// what only root reads: root must fail with want, and the others, which
// cannot know, must return once root has (the test cancels them then, as
// gorun aborts a job), with no error or context.Canceled.
type argCase struct {
	name     string
	want     error
	rootOnly bool
	minNP    int // the case needs at least this many ranks (0: any)
	run      func(ctx context.Context, c *comm.Comm, root int) error
}

func argCases(p, r int) []argCase {
	sum := collectives.Sum[float64]()
	f := func(n int) []float64 { return make([]float64, n) }
	ints := func(xs ...int) []int { return xs }
	ones := func(n int) []int {
		s := make([]int, n)
		for i := range s {
			s[i] = 1
		}
		return s
	}
	var cases []argCase
	// Roots out of range, on every rank.
	for _, bad := range []int{-1, p, p + 7} {
		for _, rc := range []struct {
			name string
			run  func(ctx context.Context, c *comm.Comm, root int) error
		}{
			{"Bcast", func(ctx context.Context, c *comm.Comm, root int) error { return collectives.Bcast(ctx, c, f(3), root) }},
			{"Reduce", func(ctx context.Context, c *comm.Comm, root int) error {
				return collectives.Reduce(ctx, c, f(3), f(3), sum, root)
			}},
			{"Gather", func(ctx context.Context, c *comm.Comm, root int) error {
				return collectives.Gather(ctx, c, f(3*p), f(3), root)
			}},
			{"Gatherv", func(ctx context.Context, c *comm.Comm, root int) error {
				return collectives.Gatherv(ctx, c, f(p), ones(p), nil, f(1), root)
			}},
			{"Scatter", func(ctx context.Context, c *comm.Comm, root int) error {
				return collectives.Scatter(ctx, c, f(3), f(3*p), root)
			}},
			{"Scatterv", func(ctx context.Context, c *comm.Comm, root int) error {
				return collectives.Scatterv(ctx, c, f(1), f(p), ones(p), nil, root)
			}},
			{"BcastValue", func(ctx context.Context, c *comm.Comm, root int) error {
				v := "x"
				return collectives.BcastValue(ctx, c, &v, root)
			}},
			{"ScatterValue", func(ctx context.Context, c *comm.Comm, root int) error {
				var v string
				return collectives.ScatterValue(ctx, c, &v, make([]string, p), root)
			}},
			{"GatherValue", func(ctx context.Context, c *comm.Comm, root int) error {
				return collectives.GatherValue(ctx, c, make([]string, p), "x", root)
			}},
		} {
			cases = append(cases, argCase{name: fmt.Sprintf("%s/root=%d", rc.name, bad), want: comm.ErrInvalidRank,
				run: func(ctx context.Context, c *comm.Comm, _ int) error { return rc.run(ctx, c, bad) }})
		}
	}
	// Bad options, on every rank, for every collective that has algorithms.
	bogus := collectives.WithAlgorithm("bogus")
	negSeg := collectives.WithSegmentSize(-1)
	for _, o := range []struct {
		name string
		opt  collectives.Option
	}{{"alg=bogus", bogus}, {"segment=-1", negSeg}} {
		opt := o.opt
		for _, oc := range []struct {
			name string
			run  func(ctx context.Context, c *comm.Comm, root int) error
		}{
			{"Barrier", func(ctx context.Context, c *comm.Comm, root int) error { return collectives.Barrier(ctx, c, opt) }},
			{"Bcast", func(ctx context.Context, c *comm.Comm, root int) error {
				return collectives.Bcast(ctx, c, f(2), root, opt)
			}},
			{"Reduce", func(ctx context.Context, c *comm.Comm, root int) error {
				return collectives.Reduce(ctx, c, f(2), f(2), sum, root, opt)
			}},
			{"Allreduce", func(ctx context.Context, c *comm.Comm, root int) error {
				return collectives.Allreduce(ctx, c, f(2), f(2), sum, opt)
			}},
			{"Allgather", func(ctx context.Context, c *comm.Comm, root int) error {
				return collectives.Allgather(ctx, c, f(2*p), f(2), opt)
			}},
			{"Allgatherv", func(ctx context.Context, c *comm.Comm, root int) error {
				return collectives.Allgatherv(ctx, c, f(p), ones(p), nil, f(1), opt)
			}},
			{"Alltoall", func(ctx context.Context, c *comm.Comm, root int) error {
				return collectives.Alltoall(ctx, c, f(p), f(p), opt)
			}},
			{"Alltoallv", func(ctx context.Context, c *comm.Comm, root int) error {
				return collectives.Alltoallv(ctx, c, f(p), ones(p), nil, f(p), ones(p), nil, opt)
			}},
			{"Gather", func(ctx context.Context, c *comm.Comm, root int) error {
				return collectives.Gather(ctx, c, f(p), f(1), root, opt)
			}},
			{"Gatherv", func(ctx context.Context, c *comm.Comm, root int) error {
				return collectives.Gatherv(ctx, c, f(p), ones(p), nil, f(1), root, opt)
			}},
			{"Scatter", func(ctx context.Context, c *comm.Comm, root int) error {
				return collectives.Scatter(ctx, c, f(1), f(p), root, opt)
			}},
			{"Scatterv", func(ctx context.Context, c *comm.Comm, root int) error {
				return collectives.Scatterv(ctx, c, f(1), f(p), ones(p), nil, root, opt)
			}},
			{"ReduceScatter", func(ctx context.Context, c *comm.Comm, root int) error {
				return collectives.ReduceScatter(ctx, c, f(1), f(p), ones(p), sum, opt)
			}},
			{"ReduceScatterBlock", func(ctx context.Context, c *comm.Comm, root int) error {
				return collectives.ReduceScatterBlock(ctx, c, f(1), f(p), sum, opt)
			}},
			{"Scan", func(ctx context.Context, c *comm.Comm, root int) error {
				return collectives.Scan(ctx, c, f(2), f(2), sum, opt)
			}},
			{"Exscan", func(ctx context.Context, c *comm.Comm, root int) error {
				return collectives.Exscan(ctx, c, f(2), f(2), sum, opt)
			}},
			{"AllgatherValue", func(ctx context.Context, c *comm.Comm, root int) error {
				return collectives.AllgatherValue(ctx, c, make([]int, p), 1, opt)
			}},
		} {
			cases = append(cases, argCase{name: oc.name + "/" + o.name, want: comm.ErrInvalidArgument, run: oc.run})
		}
	}
	// A nil src is an empty contribution, not "in place": where elements
	// are expected it is a length error.
	every := func(name string, minNP int, run func(ctx context.Context, c *comm.Comm, root int) error) {
		cases = append(cases, argCase{name: name, want: comm.ErrInvalidArgument, minNP: minNP, run: run})
	}
	atRoot := func(name string, run func(ctx context.Context, c *comm.Comm, root int) error) {
		cases = append(cases, argCase{name: name, want: comm.ErrInvalidArgument, rootOnly: true, run: run})
	}
	every("Allreduce/len(src)!=len(dst)", 0, func(ctx context.Context, c *comm.Comm, _ int) error {
		return collectives.Allreduce(ctx, c, f(3), f(4), sum)
	})
	every("Allreduce/nil src", 0, func(ctx context.Context, c *comm.Comm, _ int) error {
		return collectives.Allreduce(ctx, c, f(3), nil, sum)
	})
	every("Allreduce/empty src", 0, func(ctx context.Context, c *comm.Comm, _ int) error {
		return collectives.Allreduce(ctx, c, f(3), []float64{}, sum)
	})
	every("Allreduce/InPlace with another src", 0, func(ctx context.Context, c *comm.Comm, _ int) error {
		return collectives.Allreduce(ctx, c, f(3), f(3), sum, collectives.InPlace())
	})
	every("Allreduce/op without Fn", 0, func(ctx context.Context, c *comm.Comm, _ int) error {
		return collectives.Allreduce(ctx, c, f(3), f(3), collectives.Op[float64]{Name: "none"})
	})
	every("Allreduce/odd length for MinLoc", 0, func(ctx context.Context, c *comm.Comm, _ int) error {
		return collectives.Allreduce(ctx, c, f(3), nil, collectives.MinLoc[float64](), collectives.InPlace())
	})
	every("Reduce/odd length for MinLoc", 0, func(ctx context.Context, c *comm.Comm, root int) error {
		return collectives.Reduce(ctx, c, f(3), f(3), collectives.MinLoc[float64](), root)
	})
	every("Scan/len(src)!=len(dst)", 0, func(ctx context.Context, c *comm.Comm, _ int) error {
		return collectives.Scan(ctx, c, f(3), f(2), sum)
	})
	every("Scan/nil src", 0, func(ctx context.Context, c *comm.Comm, _ int) error {
		return collectives.Scan(ctx, c, f(3), nil, sum)
	})
	every("Exscan/len(src)!=len(dst)", 0, func(ctx context.Context, c *comm.Comm, _ int) error {
		return collectives.Exscan(ctx, c, f(3), f(5), sum)
	})
	every("Exscan/nil src", 0, func(ctx context.Context, c *comm.Comm, _ int) error {
		return collectives.Exscan(ctx, c, f(3), nil, sum)
	})
	every("Allgather/len(dst)!=p*len(src)", 0, func(ctx context.Context, c *comm.Comm, _ int) error {
		return collectives.Allgather(ctx, c, f(2*p+1), f(2))
	})
	every("Allgather/nil src", 0, func(ctx context.Context, c *comm.Comm, _ int) error {
		return collectives.Allgather(ctx, c, f(2*p), nil)
	})
	every("Allgather/InPlace len(dst) not a multiple", 2, func(ctx context.Context, c *comm.Comm, _ int) error {
		return collectives.Allgather(ctx, c, f(2*p+1), nil, collectives.InPlace())
	})
	every("Allgatherv/len(counts)!=p", 0, func(ctx context.Context, c *comm.Comm, _ int) error {
		return collectives.Allgatherv(ctx, c, f(p+1), ones(p+1), nil, f(1))
	})
	every("Allgatherv/negative count", 0, func(ctx context.Context, c *comm.Comm, _ int) error {
		cnt := ones(p)
		cnt[p-1] = -1
		return collectives.Allgatherv(ctx, c, f(p), cnt, nil, f(max(cnt[r], 0)))
	})
	every("Allgatherv/len(displs)!=p", 0, func(ctx context.Context, c *comm.Comm, _ int) error {
		return collectives.Allgatherv(ctx, c, f(p), ones(p), make([]int, p+1), f(1))
	})
	every("Allgatherv/displs past dst", 0, func(ctx context.Context, c *comm.Comm, _ int) error {
		d := make([]int, p)
		for i := range d {
			d[i] = i
		}
		d[p-1] = p // block [p, p+1) of a dst of p
		return collectives.Allgatherv(ctx, c, f(p), ones(p), d, f(1))
	})
	every("Allgatherv/negative displ", 0, func(ctx context.Context, c *comm.Comm, _ int) error {
		d := make([]int, p)
		d[0] = -1
		return collectives.Allgatherv(ctx, c, f(p), ones(p), d, f(1))
	})
	every("Allgatherv/nil src with a count", 0, func(ctx context.Context, c *comm.Comm, _ int) error {
		return collectives.Allgatherv(ctx, c, f(p), ones(p), nil, nil)
	})
	every("Alltoall/len(dst) not a multiple", 2, func(ctx context.Context, c *comm.Comm, _ int) error {
		return collectives.Alltoall(ctx, c, f(p+1), f(p+1))
	})
	every("Alltoall/len(src)!=len(dst)", 0, func(ctx context.Context, c *comm.Comm, _ int) error {
		return collectives.Alltoall(ctx, c, f(2*p), f(p))
	})
	every("Alltoall/nil src", 0, func(ctx context.Context, c *comm.Comm, _ int) error {
		return collectives.Alltoall(ctx, c, f(2*p), nil)
	})
	every("Alltoallv/negative rcount", 0, func(ctx context.Context, c *comm.Comm, _ int) error {
		rc := ones(p)
		rc[0] = -3
		return collectives.Alltoallv(ctx, c, f(p), rc, nil, f(p), ones(p), nil)
	})
	every("Alltoallv/len(scounts)!=p", 0, func(ctx context.Context, c *comm.Comm, _ int) error {
		return collectives.Alltoallv(ctx, c, f(p), ones(p), nil, f(p), ones(p+1), nil)
	})
	every("Alltoallv/rdispls past dst", 0, func(ctx context.Context, c *comm.Comm, _ int) error {
		d := make([]int, p)
		d[p-1] = p
		return collectives.Alltoallv(ctx, c, f(p), ones(p), d, f(p), ones(p), nil)
	})
	every("Alltoallv/sdispls past src", 0, func(ctx context.Context, c *comm.Comm, _ int) error {
		d := make([]int, p)
		for i := range d {
			d[i] = i
		}
		d[r] = p // rank r's own block: [p, p+1) of a src of p
		return collectives.Alltoallv(ctx, c, f(p), ones(p), nil, f(p), ones(p), d)
	})
	every("Alltoallv/nil src with counts", 0, func(ctx context.Context, c *comm.Comm, _ int) error {
		return collectives.Alltoallv(ctx, c, f(p), ones(p), nil, nil, ones(p), nil)
	})
	every("Alltoallv/scounts[rank]!=rcounts[rank]", 0, func(ctx context.Context, c *comm.Comm, _ int) error {
		sc := ones(p)
		sc[r] = 2
		return collectives.Alltoallv(ctx, c, f(p), ones(p), nil, f(p+1), sc, nil)
	})
	every("ReduceScatter/len(counts)!=p", 0, func(ctx context.Context, c *comm.Comm, _ int) error {
		return collectives.ReduceScatter(ctx, c, f(1), f(p+1), ones(p+1), sum)
	})
	every("ReduceScatter/negative count", 0, func(ctx context.Context, c *comm.Comm, _ int) error {
		cnt := ones(p)
		cnt[0] = -1
		return collectives.ReduceScatter(ctx, c, f(1), f(p), cnt, sum)
	})
	every("ReduceScatter/len(src)!=sum(counts)", 0, func(ctx context.Context, c *comm.Comm, _ int) error {
		return collectives.ReduceScatter(ctx, c, f(1), f(p+1), ones(p), sum)
	})
	every("ReduceScatter/len(dst)!=counts[rank]", 0, func(ctx context.Context, c *comm.Comm, _ int) error {
		return collectives.ReduceScatter(ctx, c, f(2), f(p), ones(p), sum)
	})
	every("ReduceScatter/nil src", 0, func(ctx context.Context, c *comm.Comm, _ int) error {
		return collectives.ReduceScatter(ctx, c, f(1), nil, ones(p), sum)
	})
	every("ReduceScatter/count not a multiple of Width", 0, func(ctx context.Context, c *comm.Comm, _ int) error {
		return collectives.ReduceScatter(ctx, c, f(1), f(p), ones(p), collectives.MinLoc[float64]())
	})
	every("ReduceScatter/InPlace len(dst)!=sum(counts)", 0, func(ctx context.Context, c *comm.Comm, _ int) error {
		return collectives.ReduceScatter(ctx, c, f(p+1), nil, ones(p), sum, collectives.InPlace())
	})
	every("ReduceScatterBlock/len(src)!=p*len(dst)", 0, func(ctx context.Context, c *comm.Comm, _ int) error {
		return collectives.ReduceScatterBlock(ctx, c, f(2), f(2*p+1), sum)
	})
	every("ReduceScatterBlock/InPlace len(dst) not a multiple", 2, func(ctx context.Context, c *comm.Comm, _ int) error {
		return collectives.ReduceScatterBlock(ctx, c, f(2*p+1), nil, sum, collectives.InPlace())
	})
	every("AllgatherValue/len(dst)!=p", 0, func(ctx context.Context, c *comm.Comm, _ int) error {
		return collectives.AllgatherValue(ctx, c, make([]int, p+1), 1)
	})
	every("AlltoallValue/len(src)!=p", 0, func(ctx context.Context, c *comm.Comm, _ int) error {
		return collectives.AlltoallValue(ctx, c, make([]int, p), make([]int, p+2))
	})
	every("BcastValue/InPlace", 0, func(ctx context.Context, c *comm.Comm, root int) error {
		v := 1
		return collectives.BcastValue(ctx, c, &v, root, collectives.InPlace())
	})
	every("NewCart/zero dimension", 0, func(ctx context.Context, c *comm.Comm, _ int) error {
		_, err := collectives.NewCart(ctx, c, ints(p, 0), nil)
		return err
	})
	every("NewCart/grid larger than the communicator", 0, func(ctx context.Context, c *comm.Comm, _ int) error {
		_, err := collectives.NewCart(ctx, c, ints(p, 2), nil)
		return err
	})
	every("NewCart/len(periods)!=len(dims)", 0, func(ctx context.Context, c *comm.Comm, _ int) error {
		_, err := collectives.NewCart(ctx, c, ints(p), []bool{true, false})
		return err
	})
	// Bad in what only root reads.
	atRoot("Reduce/len(src)!=len(dst) on root", func(ctx context.Context, c *comm.Comm, root int) error {
		dst := f(3)
		if c.Rank() == root {
			dst = f(4)
		}
		return collectives.Reduce(ctx, c, dst, f(3), sum, root)
	})
	atRoot("Gather/len(dst)!=p*len(src)", func(ctx context.Context, c *comm.Comm, root int) error {
		return collectives.Gather(ctx, c, f(2*p+1), f(2), root)
	})
	atRoot("Gather/nil src on root", func(ctx context.Context, c *comm.Comm, root int) error {
		var src []float64
		if c.Rank() != root {
			src = f(2)
		}
		return collectives.Gather(ctx, c, f(2*p), src, root)
	})
	atRoot("Gatherv/len(counts)!=p", func(ctx context.Context, c *comm.Comm, root int) error {
		return collectives.Gatherv(ctx, c, f(p), ones(p-1), nil, f(1), root)
	})
	atRoot("Gatherv/negative count", func(ctx context.Context, c *comm.Comm, root int) error {
		cnt := ones(p)
		cnt[0] = -2
		return collectives.Gatherv(ctx, c, f(p), cnt, nil, f(1), root)
	})
	atRoot("Gatherv/displs past dst", func(ctx context.Context, c *comm.Comm, root int) error {
		return collectives.Gatherv(ctx, c, f(p-1), ones(p), nil, f(1), root)
	})
	atRoot("Scatter/len(src)!=p*len(dst)", func(ctx context.Context, c *comm.Comm, root int) error {
		return collectives.Scatter(ctx, c, f(2), f(2*p-1), root)
	})
	atRoot("Scatter/nil dst on root", func(ctx context.Context, c *comm.Comm, root int) error {
		dst := f(2)
		if c.Rank() == root {
			dst = nil
		}
		return collectives.Scatter(ctx, c, dst, f(2*p), root)
	})
	atRoot("Scatterv/len(displs)!=p", func(ctx context.Context, c *comm.Comm, root int) error {
		return collectives.Scatterv(ctx, c, f(1), f(p), ones(p), make([]int, p+1), root)
	})
	atRoot("Scatterv/displs past src", func(ctx context.Context, c *comm.Comm, root int) error {
		d := make([]int, p)
		d[0] = p
		return collectives.Scatterv(ctx, c, f(1), f(p), ones(p), d, root)
	})
	atRoot("Scatterv/len(dst)!=counts[root]", func(ctx context.Context, c *comm.Comm, root int) error {
		dst := f(1)
		if c.Rank() == root {
			dst = f(3)
		}
		return collectives.Scatterv(ctx, c, dst, f(p), ones(p), nil, root)
	})
	atRoot("ScatterValue/len(src)!=p", func(ctx context.Context, c *comm.Comm, root int) error {
		var v int
		return collectives.ScatterValue(ctx, c, &v, make([]int, p+1), root)
	})
	atRoot("GatherValue/len(dst)!=p", func(ctx context.Context, c *comm.Comm, root int) error {
		return collectives.GatherValue(ctx, c, make([]int, p-1), 1, root)
	})
	return cases
}

// TestBadArgumentsAreErrors runs every collective with every bad argument
// at several rank counts: each is an error wrapping the right sentinel,
// naming the call, and no rank hangs.
func TestBadArgumentsAreErrors(t *testing.T) {
	for _, np := range []int{1, 2, 3, 5, 8} {
		t.Run(fmt.Sprintf("np=%d", np), func(t *testing.T) {
			cases := argCases(np, 0)
			// One channel per root-only case: root closes it when its
			// call has returned, and the other ranks' contexts end then.
			rootDone := make([]chan struct{}, len(cases))
			for i := range rootDone {
				rootDone[i] = make(chan struct{})
			}
			ended, cancel := context.WithCancel(context.Background())
			cancel()
			commtest.RunUnmatched(t, np, testCfg, func(ctx context.Context, c *comm.Comm) error {
				p, r := c.Size(), c.Rank()
				root := p - 1
				for i, tc := range argCases(p, r) {
					if tc.minNP > p {
						continue
					}
					// A deadline per case, so that a rank that waits
					// fails loudly with the case's name.
					cctx, stop := context.WithTimeout(ctx, 20*time.Second)
					if tc.rootOnly && r != root {
						go func() {
							select {
							case <-rootDone[i]:
								stop()
							case <-cctx.Done():
							}
						}()
					}
					err := tc.run(cctx, c, root)
					if tc.rootOnly && r == root {
						close(rootDone[i])
					}
					stop()
					switch {
					case tc.rootOnly && r != root:
						// A subtree whose wait was cancelled passes an
						// empty message up (Gather's binomial tree), so
						// its parent may see ErrTruncate instead.
						if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, comm.ErrTruncate) {
							t.Errorf("%s: rank %d (not root): %v, want nil, context.Canceled or ErrTruncate", tc.name, r, err)
						}
						continue
					case !errors.Is(err, tc.want):
						t.Errorf("%s: rank %d: %v, want an error wrapping %v", tc.name, r, err, tc.want)
						continue
					case !strings.HasPrefix(err.Error(), "collectives: "):
						t.Errorf("%s: rank %d: %q does not name the call", tc.name, r, err)
					}
					if tc.rootOnly {
						continue
					}
					// Checked before any communication: a context that
					// has ended changes nothing.
					if err := tc.run(ended, c, root); !errors.Is(err, tc.want) {
						t.Errorf("%s with an ended context: rank %d: %v, want an error wrapping %v", tc.name, r, err, tc.want)
					}
				}
				// The communicator still works.
				x := []float64{float64(r)}
				if err := collectives.Allreduce(ctx, c, x, x, collectives.Sum[float64]()); err != nil {
					return err
				}
				if want := float64(p * (p - 1) / 2); x[0] != want {
					return fmt.Errorf("Allreduce after the bad calls: %v, want %v", x[0], want)
				}
				return nil
			})
		})
	}
}

// TestBadRootNoCommunication: a bad root on one rank alone is an error at
// once, though no other rank calls the collective.
func TestBadRootNoCommunication(t *testing.T) {
	commtest.Run(t, 3, testCfg, func(ctx context.Context, c *comm.Comm) error {
		if c.Rank() != 1 {
			return nil
		}
		d := c.Dup() // only this rank uses it
		for _, root := range []int{-1, 3} {
			err := collectives.Scatter(ctx, d, make([]int, 2), make([]int, 6), root)
			if !errors.Is(err, comm.ErrInvalidRank) || !strings.Contains(err.Error(), "out of range [0,3)") {
				t.Errorf("Scatter root %d: %v, want ErrInvalidRank with the range", root, err)
			}
		}
		return nil
	})
}

// TestBadArgumentMessages: the message names the call, the rank, the
// value and the valid range.
func TestBadArgumentMessages(t *testing.T) {
	commtest.Run(t, 2, testCfg, func(ctx context.Context, c *comm.Comm) error {
		for _, tc := range []struct {
			err  error
			want []string
		}{
			{collectives.Bcast(ctx, c, []int{1}, 2), []string{"Bcast", "rank", "root 2", "[0,2)"}},
			{collectives.Allreduce(ctx, c, make([]int, 3), make([]int, 4), collectives.Sum[int]()), []string{"Allreduce", "len(src) = 4", "want 3"}},
			{collectives.Allgatherv(ctx, c, make([]int, 2), []int{1, 1}, []int{0, 2}, []int{1}), []string{"Allgatherv", "displs[1] = 2", "len(dst) = 2"}},
			{collectives.Alltoallv(ctx, c, make([]int, 2), []int{1, -1}, nil, make([]int, 2), []int{1, 1}, nil), []string{"Alltoallv", "rcounts[1] = -1"}},
			{collectives.Barrier(ctx, c, collectives.WithAlgorithm("nope")), []string{"Barrier", `"nope"`, "dissemination, tree"}},
		} {
			if !errors.Is(tc.err, comm.ErrInvalidArgument) {
				t.Errorf("%v: not an invalid argument", tc.err)
				continue
			}
			for _, w := range tc.want {
				if !strings.Contains(tc.err.Error(), w) {
					t.Errorf("%q does not mention %q", tc.err, w)
				}
			}
		}
		return nil
	})
}

// TestCartBadArguments: Cart.Sub, ShiftExchange and DimsCreate return
// errors; Coords, Shift and RankOf, which have no error result, panic.
func TestCartBadArguments(t *testing.T) {
	commtest.Run(t, 4, testCfg, func(ctx context.Context, c *comm.Comm) error {
		g, err := collectives.NewCart(ctx, c, []int{2, 2}, nil)
		if err != nil {
			return err
		}
		if _, err := g.Sub(ctx, []bool{true}); !errors.Is(err, comm.ErrInvalidArgument) {
			t.Errorf("Sub with one of two dimensions: %v", err)
		}
		if err := collectives.ShiftExchange(ctx, g, 2, 1, []int{1}, []int{0}, 0); !errors.Is(err, comm.ErrInvalidArgument) {
			t.Errorf("ShiftExchange along dimension 2 of 2: %v", err)
		}
		for name, f := range map[string]func(){
			"Coords": func() { g.Coords(4) },
			"Shift":  func() { g.Shift(-1, 1) },
			"RankOf": func() { g.RankOf([]int{0}) },
		} {
			func() {
				defer func() {
					if s, _ := recover().(string); !strings.HasPrefix(s, "collectives: Cart.") {
						t.Errorf("%s: recovered %q, want a collectives: Cart. panic", name, s)
					}
				}()
				f()
			}()
		}
		return nil
	})
	for _, dims := range [][]int{{-1, 0}, {3, 0}, {2, 2}} {
		if _, err := collectives.DimsCreate(8, dims); !errors.Is(err, comm.ErrInvalidArgument) {
			t.Errorf("DimsCreate(8, %v): %v, want ErrInvalidArgument", dims, err)
		}
	}
	if _, err := collectives.DimsCreate(0, nil); !errors.Is(err, comm.ErrInvalidArgument) {
		t.Errorf("DimsCreate(0, nil): %v", err)
	}
}
