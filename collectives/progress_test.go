package collectives_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// With async progress, the process holds one extra P exactly while a
// non-blocking collective is in flight: rank 0's Ibarrier cannot complete
// before the others start theirs, which they do only once rank 0 has seen
// GOMAXPROCS raised; once every operation has completed it is restored.
// WithAsyncProgress overrides the communicator's setting either way.
func TestAsyncProgressHoldsOneP(t *testing.T) {
	base := runtime.GOMAXPROCS(0)
	for _, tc := range []struct {
		name  string
		cfg   comm.Toggle
		opts  []collectives.Option
		extra int
	}{
		{"config on", comm.On, nil, 1},
		{"config off", 0, nil, 0},
		{"option on", comm.Off, []collectives.Option{collectives.WithAsyncProgress(true)}, 1},
		{"option off", comm.On, []collectives.Option{collectives.WithAsyncProgress(false)}, 0},
	} {
		for _, n := range []int{2, 3, 5} {
			t.Run(fmt.Sprintf("%s/np%d", tc.name, n), func(t *testing.T) {
				started := make(chan struct{})
				var seen int
				commtest.Run(t, n, comm.Config{AsyncProgress: tc.cfg}, func(ctx context.Context, c *comm.Comm) error {
					if c.Rank() != 0 {
						<-started
						_, err := collectives.Ibarrier(ctx, c, tc.opts...).Wait(ctx)
						return err
					}
					r := collectives.Ibarrier(ctx, c, tc.opts...)
					seen = runtime.GOMAXPROCS(0)
					close(started)
					_, err := r.Wait(ctx)
					return err
				})
				if seen != base+tc.extra {
					t.Errorf("GOMAXPROCS %d while in flight, want %d", seen, base+tc.extra)
				}
				if got := runtime.GOMAXPROCS(0); got != base {
					t.Errorf("GOMAXPROCS %d after, want %d restored", got, base)
				}
			})
		}
	}
}

// Many operations in flight at once on every rank, with async progress,
// mixed with blocking collectives, give the blocking results, and leave
// GOMAXPROCS as it was.
func TestAsyncProgressManyInFlight(t *testing.T) {
	base := runtime.GOMAXPROCS(0)
	for _, n := range []int{1, 2, 3, 5, 8} {
		t.Run(fmt.Sprint("np", n), func(t *testing.T) {
			commtest.Run(t, n, comm.Config{AsyncProgress: comm.On}, func(ctx context.Context, c *comm.Comm) error {
				const k = 8
				dst := make([][]float64, k)
				var reqs []*comm.Request
				for i := range k {
					dst[i] = make([]float64, 100*i+1)
					src := make([]float64, len(dst[i]))
					for j := range src {
						src[j] = float64(c.Rank()*j + i)
					}
					reqs = append(reqs, collectives.Iallreduce(ctx, c, dst[i], src, collectives.Sum[float64]()))
					if i%3 == 0 {
						if err := collectives.Barrier(ctx, c); err != nil {
							return err
						}
					}
				}
				if err := comm.WaitAll(ctx, reqs...); err != nil {
					return err
				}
				for i := range k {
					for j, v := range dst[i] {
						want := float64(n*(n-1)/2*j + n*i)
						if v != want {
							return fmt.Errorf("op %d element %d: %v, want %v", i, j, v, want)
						}
					}
				}
				return nil
			})
			if got := runtime.GOMAXPROCS(0); got != base {
				t.Errorf("GOMAXPROCS %d after, want %d restored", got, base)
			}
		})
	}
}

// A program that sets GOMAXPROCS itself while an operation holds the extra
// P keeps its value.
func TestAsyncProgressKeepsProgramsGOMAXPROCS(t *testing.T) {
	base := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(base)
	started := make(chan struct{})
	commtest.Run(t, 2, comm.Config{AsyncProgress: comm.On}, func(ctx context.Context, c *comm.Comm) error {
		if c.Rank() != 0 {
			<-started
			_, err := collectives.Ibarrier(ctx, c).Wait(ctx)
			return err
		}
		r := collectives.Ibarrier(ctx, c)
		runtime.GOMAXPROCS(base + 3)
		close(started)
		_, err := r.Wait(ctx)
		return err
	})
	if got := runtime.GOMAXPROCS(0); got != base+3 {
		t.Errorf("GOMAXPROCS %d after, want the program's %d", got, base+3)
	}
}

// Init's environment: GORUN_ASYNC_PROGRESS=1 turns it on, 0 or nothing
// leaves it off, and a Config field set by the program wins.
func TestAsyncProgressEnvironment(t *testing.T) {
	for _, tc := range []struct {
		env  string
		want comm.Toggle
	}{{"1", comm.On}, {"0", comm.Off}, {"", 0}} {
		t.Setenv("GORUN_ASYNC_PROGRESS", tc.env)
		if got := comm.DefaultConfig(1).AsyncProgress; got != tc.want {
			t.Errorf("GORUN_ASYNC_PROGRESS=%q: %v, want %v", tc.env, got, tc.want)
		}
	}
}

// BenchmarkAsyncProgressToggle is the cost of taking and giving back the
// extra P: two GOMAXPROCS changes, each of which stops the world.
func BenchmarkAsyncProgressToggle(b *testing.B) {
	base := runtime.GOMAXPROCS(0)
	for b.Loop() {
		runtime.GOMAXPROCS(base + 1)
		runtime.GOMAXPROCS(base)
	}
}
