package collectives

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/select.golden from the selector")

// selectorChoice runs the selector of a collective as its collective does.
func selectorChoice(coll string, cfg config, p, bytes int, commutative bool) string {
	switch coll {
	case "barrier":
		return selectBarrier(cfg, p)
	case "bcast":
		return selectBcast(cfg, p, bytes)
	case "reduce":
		return selectReduce(cfg, p, bytes)
	case "allreduce":
		return selectAllreduce(cfg, p, bytes, commutative)
	case "allgather":
		return selectAllgather(cfg, p, bytes)
	case "alltoall":
		return selectAlltoall(cfg, p, bytes)
	case "gather":
		return selectGather(cfg, p, bytes)
	case "scatter":
		return selectScatter(cfg, p, bytes)
	case "reducescatter":
		return selectReduceScatter(cfg, p, bytes, commutative)
	}
	return ""
}

// selectorGrid describes the selector's choices over a grid of rank counts
// and sizes (every power of two and three times a power of two up to
// 64 MiB, and their neighbours, and ReduceScatter's 16 KiB·p), for the automatic choice and for every
// forced algorithm, with commutative and non-commutative operations: one
// line per (collective, forced name, commutativity, rank count), the sizes
// run-length encoded as "from:algorithm".
func selectorGrid() string {
	var sizes []int
	seen := map[int]bool{}
	add := func(v int) {
		if v >= 0 && !seen[v] {
			seen[v] = true
			sizes = append(sizes, v)
		}
	}
	add(0)
	for k := range 27 {
		for _, v := range []int{1 << k, 3 << k} {
			add(v - 1)
			add(v)
			add(v + 1)
		}
	}
	for q := 1; q <= 64; q++ { // ReduceScatter's threshold scales with p
		add(16<<10*q - 1)
		add(16 << 10 * q)
		add(16<<10*q + 1)
	}
	slices.Sort(sizes)
	var nps []int
	for p := 1; p <= 20; p++ {
		nps = append(nps, p)
	}
	nps = append(nps, 24, 31, 32, 33, 64)
	var b strings.Builder
	for _, coll := range []string{"barrier", "bcast", "reduce", "allreduce", "allgather", "alltoall", "gather", "scatter", "reducescatter"} {
		forced := append([]string{""}, Algorithms(coll)...)
		for _, alg := range forced {
			name := alg
			if name == "" {
				name = "auto"
			}
			for _, commutative := range []bool{true, false} {
				for _, p := range nps {
					fmt.Fprintf(&b, "%s %s commutative=%v p=%d:", coll, name, commutative, p)
					last := ""
					for _, n := range sizes {
						got := selectorChoice(coll, config{alg: alg}, p, n, commutative)
						if got != last {
							fmt.Fprintf(&b, " %d:%s", n, got)
							last = got
						}
					}
					b.WriteByte('\n')
				}
			}
		}
	}
	return b.String()
}

// TestSelectorPinned pins the selector's choices: testdata/select.golden
// was written by the selector as it was before it became a table, and a
// change of policy must show up here (go test -run TestSelectorPinned
// -update rewrites the file; review its diff).
func TestSelectorPinned(t *testing.T) {
	got := selectorGrid()
	const path = "testdata/select.golden"
	if *updateGolden {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
	if len(gl) != len(wl) {
		t.Fatalf("%d lines, want %d", len(gl), len(wl))
	}
	bad := 0
	for i := range gl {
		if gl[i] != wl[i] {
			if bad++; bad <= 10 {
				t.Errorf("line %d:\n got %s\nwant %s", i+1, gl[i], wl[i])
			}
		}
	}
}
