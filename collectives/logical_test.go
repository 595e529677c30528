package collectives_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// TestLogicalOpsGiveOneOrZero: LAnd, LOr and LXor results are 1 or 0 on
// every rank count, also where a result is one rank's contribution (np 1,
// Scan on rank 0, Exscan on rank 1), for every reduction collective.
func TestLogicalOpsGiveOneOrZero(t *testing.T) {
	ops := []struct {
		name string
		op   collectives.Op[int32]
		f    func(a, b bool) bool
	}{
		{"land", collectives.LAnd[int32](), func(a, b bool) bool { return a && b }},
		{"lor", collectives.LOr[int32](), func(a, b bool) bool { return a || b }},
		{"lxor", collectives.LXor[int32](), func(a, b bool) bool { return a != b }},
	}
	// Element i of rank r's input: non-zero values other than 1, zeros.
	in := func(r, i int) int32 {
		return [][]int32{{2, -3, 0, 7}, {5, 0, 0, -1}, {9, 4, 0, 0}}[r%3][i]
	}
	// want folds ranks from..to-1 of element i.
	want := func(f func(a, b bool) bool, from, to, i int) int32 {
		acc := in(from, i) != 0
		for r := from + 1; r < to; r++ {
			acc = f(acc, in(r, i) != 0)
		}
		if acc {
			return 1
		}
		return 0
	}
	for _, np := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("np=%d", np), func(t *testing.T) {
			commtest.Run(t, np, testCfg, func(ctx context.Context, c *comm.Comm) error {
				p, r := c.Size(), c.Rank()
				src := func() []int32 {
					s := make([]int32, 4)
					for i := range s {
						s[i] = in(r, i)
					}
					return s
				}
				for _, o := range ops {
					check := func(coll string, got []int32, from, to int) {
						for i := range got {
							if w := want(o.f, from, to, i); got[i] != w {
								t.Errorf("rank %d: %s %s [%d] = %d, want %d", r, coll, o.name, i, got[i], w)
							}
						}
					}
					for name, opts := range sorted(algs("allreduce")) {
						dst := make([]int32, 4)
						if err := collectives.Allreduce(ctx, c, dst, src(), o.op, opts...); err != nil {
							return err
						}
						check("Allreduce "+name, dst, 0, p)
						x := src()
						if err := collectives.Allreduce(ctx, c, x, nil, o.op, inPlace(opts)...); err != nil {
							return err
						}
						check("Allreduce in place "+name, x, 0, p)
					}
					for name, opts := range sorted(algs("reduce")) {
						var dst []int32
						if r == p-1 {
							dst = make([]int32, 4)
						}
						if err := collectives.Reduce(ctx, c, dst, src(), o.op, p-1, opts...); err != nil {
							return err
						}
						if r == p-1 {
							check("Reduce "+name, dst, 0, p)
						}
					}
					dst := make([]int32, 4)
					if err := collectives.Scan(ctx, c, dst, src(), o.op); err != nil {
						return err
					}
					check("Scan", dst, 0, r+1)
					if err := collectives.Exscan(ctx, c, dst, src(), o.op); err != nil {
						return err
					}
					if r > 0 {
						check("Exscan", dst, 0, r)
					}
					for name, opts := range sorted(algs("reducescatter")) {
						all := make([]int32, 4*p)
						for i := range all {
							all[i] = in(r, i%4)
						}
						got := make([]int32, 4)
						if err := collectives.ReduceScatterBlock(ctx, c, got, all, o.op, opts...); err != nil {
							return err
						}
						check("ReduceScatterBlock "+name, got, 0, p)
					}
				}
				return nil
			})
		})
	}
}
