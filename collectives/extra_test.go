package collectives_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

type particle struct {
	ID   int
	Name string
	Pos  []float64
	Tags map[string]int
}

func mkParticle(i int) particle {
	return particle{ID: i, Name: fmt.Sprint("p", i), Pos: make([]float64, i%4), Tags: map[string]int{"r": i}}
}

func TestValueCollectives(t *testing.T) {
	forNP(t, func(ctx context.Context, c *comm.Comm) error {
		var ck checker
		p, r := c.Size(), c.Rank()
		eq := func(got, want any, what string) {
			if !reflect.DeepEqual(got, want) {
				ck.add(fmt.Errorf("got %+v, want %+v", got, want), "%s", what)
			}
		}
		for _, root := range []int{0, p - 1} {
			var v particle
			if r == root {
				v = mkParticle(42)
			}
			if err := collectives.BcastValue(ctx, c, &v, root); err != nil {
				return err
			}
			eq(v, mkParticle(42), "BcastValue")

			var src []particle
			if r == root {
				for i := range p {
					src = append(src, mkParticle(i*10))
				}
			}
			var got particle
			if err := collectives.ScatterValue(ctx, c, &got, src, root); err != nil {
				return err
			}
			eq(got, mkParticle(r*10), "ScatterValue")

			var all []particle
			if r == root {
				all = make([]particle, p)
			}
			if err := collectives.GatherValue(ctx, c, all, mkParticle(r), root); err != nil {
				return err
			}
			if r == root {
				for i := range p {
					eq(all[i], mkParticle(i), "GatherValue")
				}
			}
		}
		names := make([]string, p)
		if err := collectives.AllgatherValue(ctx, c, names, fmt.Sprint("rank-", r)); err != nil {
			return err
		}
		for i := range p {
			eq(names[i], fmt.Sprint("rank-", i), "AllgatherValue")
		}
		out, in := make([][]int, p), make([][]int, p)
		for j := range p {
			out[j] = []int{r, j, r * j}
		}
		if err := collectives.AlltoallValue(ctx, c, in, out); err != nil {
			return err
		}
		for i := range p {
			eq(in[i], []int{i, r, i * r}, "AlltoallValue")
		}
		// A value that cannot be encoded fails on the receivers too, and
		// the collective still completes everywhere.
		bad := func() {}
		var f func()
		if r == 0 {
			f = bad
		}
		if err := collectives.BcastValue(ctx, c, &f, 0); err == nil && p > 0 {
			ck.add(errors.New("no error"), "BcastValue of a func")
		}
		return ck.err()
	})
}

func TestCart(t *testing.T) {
	for _, tc := range []struct {
		n    int
		in   []int
		want []int
	}{
		{12, []int{0, 0}, []int{4, 3}},
		{16, []int{0, 0}, []int{4, 4}},
		{7, []int{0, 0}, []int{7, 1}},
		{24, []int{0, 0, 0}, []int{4, 3, 2}},
		{12, []int{0, 3}, []int{4, 3}},
		{1, []int{0, 0}, []int{1, 1}},
		{60, []int{0, 0}, []int{10, 6}},
	} {
		got, err := collectives.DimsCreate(tc.n, tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("DimsCreate(%d, %v) = %v, %v; want %v", tc.n, tc.in, got, err, tc.want)
		}
	}
	if _, err := collectives.DimsCreate(10, []int{3, 0}); err == nil {
		t.Error("DimsCreate(10, [3 0]): no error")
	}
	for _, n := range []int{4, 6, 7} {
		t.Run(fmt.Sprintf("np=%d", n), func(t *testing.T) {
			commtest.Run(t, n, testCfg, func(ctx context.Context, c *comm.Comm) error {
				dims, _ := collectives.DimsCreate(c.Size()/2*2, []int{0, 2})
				g, err := collectives.NewCart(ctx, c, dims, []bool{true, false})
				if err != nil {
					return err
				}
				if g == nil {
					if c.Rank() < dims[0]*dims[1] {
						return errors.New("nil Cart inside the grid")
					}
					return nil
				}
				r := g.Rank()
				co := g.Coords(r)
				if g.RankOf(co) != r || co[0] != r/2 || co[1] != r%2 {
					return fmt.Errorf("coords %v of %d", co, r)
				}
				// Halo exchange along the periodic dim 0: receive the
				// rank number of the neighbour behind.
				got := []int{-1}
				if err := collectives.ShiftExchange(ctx, g, 0, 1, []int{r}, got, 7); err != nil {
					return err
				}
				src, _ := g.Shift(0, 1)
				if want := g.RankOf([]int{co[0] - 1, co[1]}); got[0] != want || src != want {
					return fmt.Errorf("periodic shift: got %d (src %d), want %d", got[0], src, want)
				}
				// Non-periodic dim 1: edges get ProcNull.
				src, dst := g.Shift(1, 1)
				if (co[1] == 0) != (src == collectives.ProcNull) || (co[1] == 1) != (dst == collectives.ProcNull) {
					return fmt.Errorf("non-periodic shift at %v: %d %d", co, src, dst)
				}
				got[0] = -1
				if err := collectives.ShiftExchange(ctx, g, 1, 1, []int{r}, got, 8); err != nil {
					return err
				}
				if co[1] == 1 && got[0] != r-1 || co[1] == 0 && got[0] != -1 {
					return fmt.Errorf("non-periodic exchange at %v got %d", co, got[0])
				}
				// Rows: a collective on the sub-grid.
				row, err := g.Sub(ctx, []bool{false, true})
				if err != nil {
					return err
				}
				s := []int{0}
				if err := collectives.Allreduce(ctx, row.Comm(), s, []int{r}, collectives.Sum[int]()); err != nil {
					return err
				}
				if s[0] != 4*co[0]+1 || row.Comm().Size() != 2 {
					return fmt.Errorf("row sum %d at %v", s[0], co)
				}
				return nil
			})
		})
	}
}

// A user message on the same communicator never matches collective
// traffic, and collectives on two communicators can run at once.
func TestConcurrentAndIsolated(t *testing.T) {
	for _, n := range []int{3, 4} {
		t.Run(fmt.Sprintf("np=%d", n), func(t *testing.T) {
			commtest.Run(t, n, testCfg, func(ctx context.Context, c *comm.Comm) error {
				p, r := c.Size(), c.Rank()
				d := c.Dup()
				// A wildcard receive posted before the collectives.
				got := []int{0}
				wild := comm.Irecv(c, got, comm.AnySource, comm.AnyTag)
				var wg sync.WaitGroup
				errs := make([]error, 2)
				wg.Add(2)
				go func() {
					defer wg.Done()
					for i := range 20 {
						dst := make([]float64, 3000)
						src := make([]float64, 3000)
						for j := range src {
							src[j] = float64(r + i)
						}
						if err := collectives.Allreduce(ctx, c, dst, src, collectives.Sum[float64](), collectives.WithSegmentSize(1024)); err != nil {
							errs[0] = err
							return
						}
						if want := float64(p*(p-1)/2 + p*i); dst[2999] != want {
							errs[0] = fmt.Errorf("allreduce %d: %v, want %v", i, dst[2999], want)
							return
						}
					}
				}()
				go func() {
					defer wg.Done()
					for i := range 20 {
						buf := make([]int32, 2000)
						if r == i%p {
							buf[1999] = int32(i)
						}
						if err := collectives.Bcast(ctx, d, buf, i%p); err != nil {
							errs[1] = err
							return
						}
						if buf[1999] != int32(i) {
							errs[1] = fmt.Errorf("bcast %d: %d", i, buf[1999])
							return
						}
					}
				}()
				wg.Wait()
				if err := errors.Join(errs...); err != nil {
					return err
				}
				if ok, st, err := wild.Test(); ok {
					return fmt.Errorf("a collective's message matched a user wildcard receive: %+v %v %v", st, err, got)
				}
				// No rank sends its user message before every rank checked.
				if err := collectives.Barrier(ctx, c); err != nil {
					return err
				}
				if err := comm.Send(ctx, c, []int{100 + r}, (r+1)%p, 5); err != nil {
					return err
				}
				if _, err := wild.Wait(ctx); err != nil {
					return err
				}
				if got[0] != 100+(r+p-1)%p {
					return fmt.Errorf("user message %d", got[0])
				}
				return nil
			})
		})
	}
}

// A rank that leaves in the middle of a collective makes the other ranks'
// calls return an error. The ranks talking to it directly fail with
// comm.ErrPeerFinalized; the job is then aborted (as gorun does when a rank
// fails), which releases any rank waiting on a survivor.
func TestRankDiesMidCollective(t *testing.T) {
	type coll struct {
		name string
		run  func(ctx context.Context, c *comm.Comm) error
	}
	big := 5000
	colls := []coll{
		{"allreduce/ring", func(ctx context.Context, c *comm.Comm) error {
			return collectives.Allreduce(ctx, c, make([]float64, big), make([]float64, big), collectives.Sum[float64](), collectives.WithAlgorithm("ring"))
		}},
		{"allreduce/recdoubling", func(ctx context.Context, c *comm.Comm) error {
			return collectives.Allreduce(ctx, c, make([]float64, big), make([]float64, big), collectives.Sum[float64](), collectives.WithAlgorithm("recdoubling"))
		}},
		{"allreduce/reduce_bcast", func(ctx context.Context, c *comm.Comm) error {
			return collectives.Allreduce(ctx, c, make([]float64, big), make([]float64, big), collectives.Sum[float64](), collectives.WithAlgorithm("reduce_bcast"))
		}},
		{"bcast/pipeline", func(ctx context.Context, c *comm.Comm) error {
			return collectives.Bcast(ctx, c, make([]float64, big), 0, collectives.WithAlgorithm("pipeline"), collectives.WithSegmentSize(512))
		}},
		{"barrier", func(ctx context.Context, c *comm.Comm) error { return collectives.Barrier(ctx, c) }},
		{"alltoall/pairwise", func(ctx context.Context, c *comm.Comm) error {
			return collectives.Alltoall(ctx, c, make([]int32, 5*big), make([]int32, 5*big), collectives.WithAlgorithm("pairwise"))
		}},
	}
	for _, cl := range colls {
		t.Run(cl.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			const n, dead = 5, 3
			w, err := commtest.Start(ctx, n, testCfg)
			if err != nil {
				t.Fatal(err)
			}
			errs := make(chan error, n)
			for r := range n {
				if r == dead {
					continue
				}
				go func() { errs <- cl.run(ctx, w.Comms[r]) }()
			}
			go w.Comms[dead].Close()
			// Every survivor either finishes (it needed nothing from the
			// dead rank) or fails; once one has failed the job is aborted,
			// as gorun does, which releases ranks waiting on a survivor
			// that gave up.
			failed := 0
			for range n - 1 {
				select {
				case err := <-errs:
					if err == nil {
						continue
					}
					if failed == 0 {
						t.Logf("first error: %v", err)
						w.Store.Set(ctx, "abort", []byte("rank failed: "+err.Error()))
					}
					failed++
					if !errors.Is(err, comm.ErrPeerFinalized) && !errors.Is(err, comm.ErrAborted) &&
						!errors.Is(err, comm.ErrPeerLost) && !errors.Is(err, comm.ErrCanceled) {
						t.Errorf("unexpected error %v", err)
					}
				case <-time.After(15 * time.Second):
					t.Fatal("a rank hangs after its peer left")
				}
			}
			if failed == 0 {
				t.Fatal("every rank finished a collective whose peer left")
			}
			w.Close()
		})
	}
}
