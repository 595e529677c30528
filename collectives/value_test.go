package collectives_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
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
