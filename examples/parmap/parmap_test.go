package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/kernels"

	"github.com/gorun-hpc/gorun/examples/internal/gorunexec"
)

func TestBlock(t *testing.T) {
	for _, n := range []int64{0, 1, 7, 100} {
		for size := int64(1); size <= 5; size++ {
			next := int64(0)
			for r := range size {
				lo, hi := block(n, size, r)
				if lo != next || hi < lo || hi-lo > n/size+1 {
					t.Fatalf("block(%d,%d,%d) = %d,%d", n, size, r, lo, hi)
				}
				next = hi
			}
			if next != n {
				t.Fatalf("blocks of %d over %d end at %d", n, size, next)
			}
		}
	}
}

func runInProcess(t *testing.T, n, workers int, p Params) (string, []bool) {
	return gorunexec.InProcess(t, n, func(ctx context.Context, c *comm.Comm, out io.Writer) (bool, error) {
		var pool *kernels.Pool
		if workers > 0 {
			var err error
			if pool, err = kernels.NewPool(kernels.Config{Workers: workers, NoPin: true}); err != nil {
				return false, err
			}
			defer pool.Close()
		}
		return Run(ctx, c, pool, p, out)
	})
}

func TestRunRanks(t *testing.T) {
	for _, n := range []int{1, 2, 3, 4} {
		for _, workers := range []int{0, 2} {
			for _, chunk := range []int{0, 4096} {
				t.Run(fmt.Sprintf("np%d/workers%d/chunk%d", n, workers, chunk), func(t *testing.T) {
					p := Params{SumN: 100_000, MapN: 100_003, Jobs: "sum,map", Chunk: chunk}
					out, verdicts := runInProcess(t, n, workers, p)
					for r, ok := range verdicts {
						if !ok {
							t.Errorf("rank %d: verdict false\n%s", r, out)
						}
					}
					if !strings.Contains(out, "total = 19999900000") || strings.Count(out, "OK ") != 2 {
						t.Errorf("unexpected output:\n%s", out)
					}
				})
			}
		}
	}
}

func TestCorruptFails(t *testing.T) {
	for _, n := range []int{1, 3} {
		out, verdicts := runInProcess(t, n, 0, Params{SumN: 1000, MapN: 1000, Jobs: "sum,map", Corrupt: true})
		for r, ok := range verdicts {
			if ok {
				t.Errorf("np %d rank %d: corrupted run passed\n%s", n, r, out)
			}
		}
		if strings.Count(out, "FAILED") != 2 {
			t.Errorf("want two FAILED lines:\n%s", out)
		}
	}
}

func TestUnderGorun(t *testing.T) {
	l := gorunexec.Build(t)
	for _, np := range []int{1, 2, 4} {
		out, code := l.Run(t, 40*time.Second, np, "-n", "200000")
		if code != 0 {
			t.Fatalf("np %d: exit %d\n%s", np, code, out)
		}
		gorunexec.MustContain(t, out, "OK sum: total 19999900000", "OK map: all 200000 results")
	}
	out, code := l.Run(t, 40*time.Second, 2, "-n", "1000", "-corrupt")
	if code == 0 || !strings.Contains(out, "FAILED") {
		t.Fatalf("corrupted run: exit %d\n%s", code, out)
	}
}
