package collectives

import (
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gorun-hpc/gorun/comm"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/select.golden from the selector")

// selectorChoice runs the selector of a collective as its collective does.
func selectorChoice(coll string, cfg config, p, bytes int, commutative bool, lay layout) string {
	switch coll {
	case "barrier":
		return selectBarrier(cfg, p, lay)
	case "bcast":
		return selectBcast(cfg, p, bytes, lay)
	case "reduce":
		return selectReduce(cfg, p, bytes)
	case "allreduce":
		return selectAllreduce(cfg, p, bytes, commutative, lay)
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
// run-length encoded as "from:algorithm". These lines are for one host (or
// one rank per host: the layout of a single host); then come the collectives that look at the hosts
// (barrier, bcast, allreduce) for jobs over several hosts with several
// ranks on some, with each host's ranks consecutive ("hosts=blocked") or
// not ("hosts=scattered").
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
	grid := func(colls []string, lay layout, label string) {
		for _, coll := range colls {
			forced := append([]string{""}, Algorithms(coll)...)
			if lay.multi { // a forced flat algorithm does not look at the hosts
				forced = []string{"", string(algHierarchical)}
			}
			for _, alg := range forced {
				name := alg
				if name == "" {
					name = "auto"
				}
				for _, commutative := range []bool{true, false} {
					for _, p := range nps {
						if lay.multi && p < 3 { // several hosts, several ranks on one
							continue
						}
						fmt.Fprintf(&b, "%s %s commutative=%v p=%d%s:", coll, name, commutative, p, label)
						last := ""
						for _, n := range sizes {
							got := selectorChoice(coll, config{alg: alg}, p, n, commutative, lay)
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
	}
	grid([]string{"barrier", "bcast", "reduce", "allreduce", "allgather", "alltoall", "gather", "scatter", "reducescatter"}, layout{blocked: true}, "")
	hostColls := []string{"barrier", "bcast", "allreduce"}
	grid(hostColls, layout{multi: true, blocked: true}, " hosts=blocked")
	grid(hostColls, layout{multi: true}, " hosts=scattered")
	grid(hostColls, layout{shared: true, blocked: true}, " host=shared")
	return b.String()
}

// TestSelectorPinned pins the selector's choices: testdata/select.golden
// holds them over the grid of selectorGrid (first written by the selector
// before it was a table, which chose the same), and a change of policy
// must show up here (go test -run TestSelectorPinned
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

// The policy table is well formed: every collective of the list of names
// has rows, every row names one of its collective's algorithms, the last
// row holds every call, and every fallback names algorithms of its
// collective.
func TestPolicyTable(t *testing.T) {
	for coll, algs := range algorithms {
		rows := policy[coll]
		if len(rows) == 0 {
			t.Errorf("%s: no policy", coll)
			continue
		}
		for i, r := range rows {
			if !slices.Contains(algs, r.alg) {
				t.Errorf("%s row %d: %q is not one of %v", coll, i, r.alg, algs)
			}
		}
		if last := rows[len(rows)-1]; last.ranks != anyRanks || last.sizes != anySize || last.hosts != anyHosts {
			t.Errorf("%s: the last row %+v does not hold every call", coll, last)
		}
		for _, f := range fallbacks[coll] {
			if !slices.Contains(algs, f.alg) || !slices.Contains(algs, f.use) {
				t.Errorf("%s: fallback %+v names an algorithm not in %v", coll, f, algs)
			}
		}
	}
	for coll := range policy {
		if algorithms[coll] == nil {
			t.Errorf("policy for %s, which is not in the list of names", coll)
		}
	}
	for coll := range fallbacks {
		if algorithms[coll] == nil {
			t.Errorf("fallback for %s, which is not in the list of names", coll)
		}
	}
}

// An unknown forced name is an error wrapping comm.ErrInvalidArgument that
// names the collective's variable, the name and the valid names (the
// collective's call wraps it with its own name); every listed name,
// and no name, is valid.
func TestCheckAlgorithm(t *testing.T) {
	for _, coll := range Collectives() {
		for _, name := range append(Algorithms(coll), "") {
			if err := checkAlgorithm(coll, name); err != nil {
				t.Errorf("%s %q: %v", coll, name, err)
			}
		}
		err := checkAlgorithm(coll, "no-such-algorithm")
		if !errors.Is(err, comm.ErrInvalidArgument) {
			t.Fatalf("%s: %v, want an error wrapping comm.ErrInvalidArgument", coll, err)
		}
		for _, want := range append([]string{"GORUN_COLL_" + strings.ToUpper(coll), `"no-such-algorithm"`}, Algorithms(coll)...) {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %q does not name %s", coll, err, want)
			}
		}
	}
	if err := checkAlgorithm("allreduce", "Ring"); err == nil {
		t.Error("names are case-sensitive: Ring accepted")
	}
}

// Every function that calls a selector and switches on string cases (the
// collectives' dispatch) has a case for every algorithm of its collective
// (a default clause may stand for one of them) and none for a name that
// is not one, so no listed name can fall through
// a dispatch that does nothing. Checked on the package's source.
func TestDispatchCoversAlgorithms(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	checked := map[string]bool{}
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Body == nil || strings.HasPrefix(fn.Name.Name, "select") {
				continue
			}
			coll := ""
			cases := map[string]bool{}
			hasDefault := false
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.CallExpr:
					if id, ok := n.Fun.(*ast.Ident); ok && strings.HasPrefix(id.Name, "select") && len(id.Name) > len("select") {
						coll = strings.ToLower(strings.TrimPrefix(id.Name, "select"))
					}
				case *ast.CaseClause:
					hasDefault = hasDefault || n.List == nil
					for _, e := range n.List {
						if lit, ok := e.(*ast.BasicLit); ok && lit.Kind == token.STRING {
							s, _ := strconv.Unquote(lit.Value)
							cases[s] = true
						}
					}
				}
				return true
			})
			if coll == "" || len(cases) == 0 {
				continue
			}
			algs, ok := algorithms[coll]
			if !ok {
				t.Errorf("%s: %s calls the selector of %q, which is not in the list of names", fset.Position(fn.Pos()), fn.Name.Name, coll)
				continue
			}
			checked[coll] = true
			var missing []algorithm
			for _, a := range algs {
				if !cases[string(a)] {
					missing = append(missing, a)
				}
			}
			if len(missing) > 1 || len(missing) == 1 && !hasDefault {
				t.Errorf("%s: %s has no case for %s algorithms %q", fset.Position(fn.Pos()), fn.Name.Name, coll, missing)
			}
			for c := range cases {
				if c != "copy" && !slices.Contains(algs, algorithm(c)) { // "copy": Allreduce at np 1
					t.Errorf("%s: %s has a case %q, not an algorithm of %s", fset.Position(fn.Pos()), fn.Name.Name, c, coll)
				}
			}
		}
	}
	for coll := range policy {
		if len(algorithms[coll]) > 1 && !checked[coll] {
			t.Errorf("no dispatch of %s found", coll)
		}
	}
}
