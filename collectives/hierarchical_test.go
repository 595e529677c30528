package collectives_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// hostLayouts are the fake placements of the hierarchical tests (rank r on
// host layout[r]): equal and unequal hosts by slot, round robin (each
// host's ranks not consecutive, where a non-commutative Allreduce falls
// back), one rank per host, and a single host.
var hostLayouts = []struct {
	name  string
	hosts []string
}{
	{"3x2", commtest.Layout(2, 2, 2)},
	{"1+2+2", commtest.Layout(1, 2, 2)},
	{"3+1", commtest.Layout(3, 1)},
	{"2+3+1+2", commtest.Layout(2, 3, 1, 2)},
	{"roundrobin2x3", []string{"a", "b", "a", "b", "a", "b"}},
	{"3x1", commtest.Layout(1, 1, 1)},
	{"one5", commtest.Layout(5)},
}

// hierAlgs is the selector's choice and the forced hierarchical algorithm.
func hierAlgs() map[string][]collectives.Option {
	return map[string][]collectives.Option{
		"auto":         {collectives.WithSegmentSize(segBytes)},
		"hierarchical": {collectives.WithAlgorithm("hierarchical"), collectives.WithSegmentSize(segBytes)},
	}
}

func forLayouts(t *testing.T, f func(ctx context.Context, c *comm.Comm) error) {
	for _, l := range hostLayouts {
		t.Run(l.name, func(t *testing.T) {
			commtest.RunHosts(t, l.hosts, testCfg, f)
		})
	}
}

// The Allreduce table of TestAllreduce, on several fake hosts, with the
// selector's choice (hierarchical where ranks share hosts) and the
// hierarchical algorithm forced.
func TestAllreduceHierarchical(t *testing.T) {
	forLayouts(t, func(ctx context.Context, c *comm.Comm) error {
		a := hierAlgs()
		return all(
			allreduceCaseAlgs(ctx, c, f64Sum, a),
			allreduceCaseAlgs(ctx, c, affineCase, a),
			allreduceCaseAlgs(ctx, c, maxLoc, a),
			allreduceCaseAlgs(ctx, c, f32Sum, a),
			allreduceCaseAlgs(ctx, c, c128Sum, a),
			allreduceCaseAlgs(ctx, c, i32Max, a),
			allreduceCaseAlgs(ctx, c, i32Min, a),
			allreduceCaseAlgs(ctx, c, i64Prod, a),
			allreduceCaseAlgs(ctx, c, u8Xor, a),
			allreduceCaseAlgs(ctx, c, u8Or, a),
			allreduceCaseAlgs(ctx, c, i8LAnd, a),
			allreduceCaseAlgs(ctx, c, i8LXor, a),
			allreduceCaseAlgs(ctx, c, minLoc, a),
			allreduceCaseAlgs(ctx, c, userMul, a),
		)
	})
}

// The Bcast table of TestBcast on several fake hosts (roots 0, p-1 and
// p/2: leaders and not).
func TestBcastHierarchical(t *testing.T) {
	forLayouts(t, func(ctx context.Context, c *comm.Comm) error {
		a := hierAlgs()
		return all(
			bcastCaseAlgs(ctx, c, func(i int) float64 { return float64(i) * 1.5 }, a),
			bcastCaseAlgs(ctx, c, func(i int) int16 { return int16(i) }, a),
			bcastCaseAlgs(ctx, c, func(i int) complex64 { return complex(float32(i), 1) }, a),
		)
	})
}

// TestBarrier's check on several fake hosts: no rank leaves before every
// rank has entered.
func TestBarrierHierarchical(t *testing.T) {
	for _, l := range hostLayouts {
		t.Run(l.name, func(t *testing.T) {
			np := len(l.hosts)
			var arrived atomic.Int64
			commtest.RunHosts(t, l.hosts, testCfg, func(ctx context.Context, c *comm.Comm) error {
				round := 0
				for name, opts := range sorted(hierAlgs()) {
					for range 3 {
						round++
						arrived.Add(1)
						if err := collectives.Barrier(ctx, c, opts...); err != nil {
							return fmt.Errorf("%s: %w", name, err)
						}
						if got, want := arrived.Load(), int64(round*np); got < want {
							return fmt.Errorf("%s: left barrier %d with %d arrivals, want %d", name, round, got, want)
						}
					}
				}
				return nil
			})
		})
	}
}

// The selector takes the hierarchical algorithms where several hosts hold
// several ranks, and only there; non-blocking collectives (on a Dup) and
// collectives on a split communicator work too.
func TestHierarchicalSelection(t *testing.T) {
	for _, l := range hostLayouts {
		t.Run(l.name, func(t *testing.T) {
			commtest.RunHosts(t, l.hosts, testCfg, func(ctx context.Context, c *comm.Comm) error {
				n, err := c.Nodes(ctx)
				if err != nil {
					return err
				}
				want := n.Hosts > 1 && n.MaxLocal > 1
				for _, coll := range []string{"allreduce", "bcast", "barrier"} {
					got, err := collectives.ChosenAlgorithm(ctx, c, coll, 8, true)
					if err != nil {
						return err
					}
					if (got == "hierarchical") != want {
						return fmt.Errorf("%s: %s on %d hosts of at most %d ranks", coll, got, n.Hosts, n.MaxLocal)
					}
				}
				x := []float64{float64(c.Rank())}
				r := collectives.Iallreduce(ctx, c, x, nil, collectives.Sum[float64](), collectives.InPlace())
				if _, err := r.Wait(ctx); err != nil {
					return err
				}
				p := float64(c.Size())
				if x[0] != p*(p-1)/2 {
					return fmt.Errorf("Iallreduce: %v", x[0])
				}
				sub, err := c.Split(ctx, c.Rank()%2, 0)
				if err != nil {
					return err
				}
				y := []int{1}
				if err := collectives.Allreduce(ctx, sub, y, nil, collectives.Sum[int](), collectives.InPlace()); err != nil {
					return err
				}
				if y[0] != sub.Size() {
					return fmt.Errorf("split: %d, want %d", y[0], sub.Size())
				}
				return nil
			})
		})
	}
}
