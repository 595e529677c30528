package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"

	"github.com/gorun-hpc/gorun/examples/internal/gorunexec"
)

func TestReadRangeSplitsExactly(t *testing.T) {
	spec := DataSpec{Rows: 5000, Keys: 17, Skew: 0.3, Seed: 9}
	path := filepath.Join(t.TempDir(), "d.csv")
	if err := Generate(spec, path); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	all, err := ReadRange(path, 0, fi.Size())
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(all.Store)) != spec.Rows {
		t.Fatalf("read %d rows, want %d", len(all.Store), spec.Rows)
	}
	// Any split, including ranges that start on a newline or inside the
	// header, must give every row exactly once and in order.
	for _, parts := range []int64{2, 3, 7, 64, 5000} {
		var got []int64
		for r := range parts {
			rows, err := ReadRange(path, fi.Size()*r/parts, fi.Size()*(r+1)/parts)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, rows.Cents...)
		}
		if len(got) != len(all.Cents) {
			t.Fatalf("%d parts: %d rows, want %d", parts, len(got), len(all.Cents))
		}
		for i := range got {
			if got[i] != all.Cents[i] {
				t.Fatalf("%d parts: row %d differs", parts, i)
			}
		}
	}
}

func runInProcess(t *testing.T, n int, p Params) (string, []bool) {
	return gorunexec.InProcess(t, n, func(ctx context.Context, c *comm.Comm, out io.Writer) (bool, error) {
		return Run(ctx, c, p, out)
	})
}

func TestRunRanks(t *testing.T) {
	dir := t.TempDir()
	for _, skew := range []float64{0, 0.8} {
		for _, n := range []int{1, 2, 3, 4} {
			t.Run(fmt.Sprintf("skew%g/np%d", skew, n), func(t *testing.T) {
				p := Params{Data: DataSpec{Rows: 20_000, Keys: 50, Skew: skew, Seed: 3},
					Compare: true, Check: true,
					Path: filepath.Join(dir, fmt.Sprintf("s%g.csv", skew))}
				out, verdicts := runInProcess(t, n, p)
				for r, ok := range verdicts {
					if !ok {
						t.Errorf("rank %d: verdict false\n%s", r, out)
					}
				}
				if !strings.Contains(out, "OK groupby: 50 stores") {
					t.Errorf("unexpected output:\n%s", out)
				}
			})
		}
	}
}

func TestSaltSpreadsHotKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hot.csv")
	spec := DataSpec{Rows: 40_000, Keys: 100, Skew: 0.9, Seed: 4}
	if err := Generate(spec, path); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	const n = 4
	received := map[string][]int64{}
	var mu sync.Mutex
	commtest.Run(t, n, comm.Config{}, func(ctx context.Context, c *comm.Comm) error {
		lo, hi := fi.Size()*int64(c.Rank())/n, fi.Size()*int64(c.Rank()+1)/n
		for _, mode := range []string{"raw", "salt", "combine"} {
			_, st, err := GroupBy(ctx, c, path, lo, hi, mode, 50)
			if err != nil {
				return err
			}
			mu.Lock()
			received[mode] = append(received[mode], st.Received)
			mu.Unlock()
		}
		return nil
	})
	maxOf := func(xs []int64) int64 {
		m := int64(0)
		for _, x := range xs {
			m = max(m, x)
		}
		return m
	}
	// Without a fix one rank receives about 90% of the rows; salted, about
	// a quarter each; combined, at most one partial per key and rank.
	if m := maxOf(received["raw"]); m < 30_000 {
		t.Errorf("raw: busiest rank received %d rows, expected the hot key's ~36000", m)
	}
	if m := maxOf(received["salt"]); m > 12_000 {
		t.Errorf("salt: busiest rank received %d rows, want about 10000", m)
	}
	if m := maxOf(received["combine"]); m > n*100 {
		t.Errorf("combine: busiest rank received %d partials", m)
	}
}

func TestCorruptFails(t *testing.T) {
	p := Params{Data: DataSpec{Rows: 3000, Keys: 10, Seed: 5}, Mode: "combine", Check: true,
		Path: filepath.Join(t.TempDir(), "c.csv"), Corrupt: true}
	for _, n := range []int{1, 3} {
		out, verdicts := runInProcess(t, n, p)
		for r, ok := range verdicts {
			if ok {
				t.Errorf("np %d rank %d: corrupted run passed\n%s", n, r, out)
			}
		}
		if !strings.Contains(out, "FAILED") {
			t.Errorf("no FAILED line:\n%s", out)
		}
	}
}

func TestUnderGorun(t *testing.T) {
	l := gorunexec.Build(t)
	file := filepath.Join(t.TempDir(), "g.csv")
	args := []string{"-rows", "30000", "-keys", "40", "-skew", "0.7", "-compare", "-file", file}
	for _, np := range []int{1, 2, 4} {
		out, code := l.Run(t, 40*time.Second, np, args...)
		if code != 0 {
			t.Fatalf("np %d: exit %d\n%s", np, code, out)
		}
		gorunexec.MustContain(t, out, "OK groupby: 40 stores", "combine", "salt", "raw")
	}
	out, code := l.Run(t, 40*time.Second, 2, append(args, "-corrupt")...)
	if code == 0 || !strings.Contains(out, "FAILED") {
		t.Fatalf("corrupted run: exit %d\n%s", code, out)
	}
}
