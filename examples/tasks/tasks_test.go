package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/comm"

	"github.com/gorun-hpc/gorun/examples/internal/gorunexec"
)

func small() Params {
	return Params{Part: "all", DownloadMS: 30, LookupMS: 5, PrimesN: 100_000,
		FarmN: 60_000, Items: 37, Schedule: "dynamic"}
}

func runInProcess(t *testing.T, n int, p Params) (string, []bool) {
	return gorunexec.InProcess(t, n, func(ctx context.Context, c *comm.Comm, out io.Writer) (bool, error) {
		return Run(ctx, c, p, out)
	})
}

func TestFarmItemsCover(t *testing.T) {
	for _, items := range []int{1, 5, 240} {
		its := farmItems(1000, items)
		if its[0][0] != 0 || its[len(its)-1][1] != 1000 {
			t.Fatalf("items %d: %v", items, its)
		}
		for i := 1; i < len(its); i++ {
			if its[i][0] != its[i-1][1] {
				t.Fatalf("gap at %d: %v", i, its)
			}
		}
	}
	if got := countPrimes(0, 100); got != 25 || sieveCount(100) != 25 {
		t.Fatalf("primes below 100: %d, %d", got, sieveCount(100))
	}
}

func TestRunRanks(t *testing.T) {
	for _, n := range []int{1, 2, 3, 4} {
		for _, sched := range []string{"dynamic", "static"} {
			t.Run(fmt.Sprintf("np%d/%s", n, sched), func(t *testing.T) {
				p := small()
				p.Schedule = sched
				out, verdicts := runInProcess(t, n, p)
				for r, ok := range verdicts {
					if !ok {
						t.Errorf("rank %d: verdict false\n%s", r, out)
					}
				}
				if !strings.Contains(out, "OK jobs") || !strings.Contains(out, "OK farm: 6057 primes below 60000") {
					t.Errorf("unexpected output:\n%s", out)
				}
				// Every rank ran a share of the farm.
				if sched == "dynamic" && n > 1 && strings.Contains(out, "  0 items") {
					t.Logf("a rank got no item (possible on a loaded machine):\n%s", out)
				}
			})
		}
	}
}

func TestCorruptFails(t *testing.T) {
	for _, n := range []int{1, 3} {
		p := small()
		p.Corrupt = true
		out, verdicts := runInProcess(t, n, p)
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
	args := []string{"-download-ms", "30", "-lookup-ms", "5", "-primes-n", "100000", "-farm-n", "60000", "-items", "37"}
	for _, np := range []int{1, 2, 4} {
		out, code := l.Run(t, 40*time.Second, np, args...)
		if code != 0 {
			t.Fatalf("np %d: exit %d\n%s", np, code, out)
		}
		gorunexec.MustContain(t, out, "OK jobs", "OK farm: 6057 primes")
	}
	out, code := l.Run(t, 40*time.Second, 2, append(args, "-corrupt")...)
	if code == 0 || !strings.Contains(out, "FAILED") {
		t.Fatalf("corrupted run: exit %d\n%s", code, out)
	}
}
