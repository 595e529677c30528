package gorun_test

// The import rules of ARCHITECTURE.md, checked with `go list`:
// cmd → launcher; examples, bench → (parallel →) collectives → comm;
// kernels stands alone; nothing imports cmd, examples or bench; only
// examples and bench import parallel.

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/gorun-hpc/gorun/"

// allowed reports whether package pkg (relative to the module) may import
// dep (relative to the module).
func allowed(pkg, dep string) bool {
	top := func(p string) string { t, _, _ := strings.Cut(p, "/"); return t }
	under := func(p, dir string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }
	switch {
	case under(dep, "cmd"), under(dep, "examples"), under(dep, "bench"):
		// Only from inside the same tree (examples/internal/npb, say).
		return top(pkg) == top(dep)
	case under(dep, "parallel") && !under(pkg, "parallel"):
		return under(pkg, "examples") || under(pkg, "bench")
	case under(pkg, "parallel"):
		return under(dep, "parallel") || under(dep, "collectives") || under(dep, "comm") || under(dep, "kernels")
	case under(pkg, "kernels"):
		return under(dep, "kernels")
	case under(pkg, "comm"):
		return under(dep, "comm")
	case under(pkg, "collectives"):
		return under(dep, "comm") || under(dep, "collectives")
	case under(pkg, "launcher"):
		return under(dep, "launcher") || dep == "comm/rendezvous" || dep == "comm/hostlist" ||
			under(dep, "kernels/topology") || under(dep, "kernels/affinity")
	case under(pkg, "cmd"):
		return !under(dep, "collectives")
	}
	return true
}

func TestImportRules(t *testing.T) {
	out, err := exec.Command("go", "list", "-test", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg, ok := strings.CutPrefix(f[0], module)
		if !ok || strings.Contains(pkg, " ") || strings.Contains(pkg, "[") || strings.HasSuffix(pkg, ".test") {
			continue
		}
		pkg = strings.TrimSuffix(pkg, "_test")
		for _, imp := range f[1:] {
			dep, ok := strings.CutPrefix(imp, module)
			if !ok {
				continue
			}
			checked++
			if !allowed(pkg, dep) {
				t.Errorf("%s imports %s, against the import rules", pkg, dep)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no imports checked")
	}
}
