package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/comm"

	"github.com/gorun-hpc/gorun/examples/internal/gorunexec"
)

func TestCountWords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.txt")
	text := "The cat's hat; the CAT, the hat!\nÉcole école 'quoted' don't\n"
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	counts := map[string]int64{}
	n, err := countWords(path, counts)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"the": 3, "cat's": 1, "hat": 2, "cat": 1, "école": 2, "quoted": 1, "don't": 1}
	if n != 11 || compare(counts, want) != "" {
		t.Fatalf("got %d words %v, want 11 %v", n, counts, want)
	}
}

func TestAssignBalances(t *testing.T) {
	files := []string{"a", "b", "c", "d", "e"}
	sizes := []int64{50, 40, 30, 20, 10}
	got := assign(files, sizes, 2)
	if fmt.Sprint(got) != "[[a d e] [b c]]" {
		t.Fatalf("assign = %v", got)
	}
	if got := assign(files, sizes, 8); len(got) != 8 || len(got[7]) != 0 {
		t.Fatalf("more ranks than files: %v", got)
	}
}

func runInProcess(t *testing.T, n int, p Params) (string, []bool) {
	return gorunexec.InProcess(t, n, func(ctx context.Context, c *comm.Comm, out io.Writer) (bool, error) {
		return Run(ctx, c, p, out)
	})
}

func TestRunRanks(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []int{1, 2, 3, 4} {
		t.Run(fmt.Sprintf("np%d", n), func(t *testing.T) {
			p := Params{Corpus: CorpusSpec{Files: 5, Words: 3000, Seed: 2}, Dir: dir, Top: 3, Check: true}
			out, verdicts := runInProcess(t, n, p)
			for r, ok := range verdicts {
				if !ok {
					t.Errorf("rank %d: verdict false\n%s", r, out)
				}
			}
			if !strings.Contains(out, "OK wordcount") {
				t.Errorf("unexpected output:\n%s", out)
			}
		})
	}
}

func TestCorruptFails(t *testing.T) {
	p := Params{Corpus: CorpusSpec{Files: 3, Words: 500, Seed: 3}, Dir: t.TempDir(), Check: true, Corrupt: true}
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
	dir := t.TempDir()
	args := []string{"-files", "6", "-words", "5000", "-dir", dir}
	for _, np := range []int{1, 2, 4} {
		out, code := l.Run(t, 40*time.Second, np, args...)
		if code != 0 {
			t.Fatalf("np %d: exit %d\n%s", np, code, out)
		}
		gorunexec.MustContain(t, out, "OK wordcount", fmt.Sprintf("on %d ranks", np))
	}
	// Files named on the command line.
	files, _ := filepath.Glob(filepath.Join(dir, "part-*.txt"))
	out, code := l.Run(t, 40*time.Second, 2, append([]string{"-top", "3"}, files...)...)
	if code != 0 || !strings.Contains(out, "OK wordcount") || !strings.Contains(out, "6 files") {
		t.Fatalf("explicit files: exit %d\n%s", code, out)
	}
	out, code = l.Run(t, 40*time.Second, 2, append(args, "-corrupt")...)
	if code == 0 || !strings.Contains(out, "FAILED") {
		t.Fatalf("corrupted run: exit %d\n%s", code, out)
	}
}
