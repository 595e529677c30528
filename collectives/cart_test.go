package collectives_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

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
