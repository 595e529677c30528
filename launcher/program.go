package launcher

import (
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ErrNotFound is wrapped by Resolve when the program does not exist.
var ErrNotFound = errors.New("program not found")

// ErrNotMain is wrapped by Resolve when a Go package directory holds a
// package other than main (a library: nothing to run).
var ErrNotMain = errors.New("not a main package")

// Resolve turns the PROGRAM argument into an executable path. A Go package
// directory (a directory holding .go files, such as ./examples/pi) is built
// once with `go build` into dir and the binary's path returned; a name
// without a slash is looked up in PATH, as a shell would; any other path
// must be an executable file. logf reports the build.
func Resolve(program, dir string, logf func(string, ...any)) (string, error) {
	st, err := os.Stat(program)
	if err == nil && st.IsDir() {
		matches, _ := filepath.Glob(filepath.Join(program, "*.go"))
		if len(matches) == 0 {
			return "", fmt.Errorf("%w: %s is a directory with no Go files", ErrNotFound, program)
		}
		if name, ok := packageName(matches); !ok {
			return "", fmt.Errorf("%s is not a main package (it is package %s): %w", program, name, ErrNotMain)
		}
		return build(program, dir, logf)
	}
	if !strings.Contains(program, "/") {
		p, err := exec.LookPath(program)
		if err != nil {
			return "", fmt.Errorf("%w: %q is not in PATH", ErrNotFound, program)
		}
		return p, nil
	}
	if err != nil {
		return "", fmt.Errorf("%w: %s", ErrNotFound, program)
	}
	if st.Mode()&0o111 == 0 {
		return "", fmt.Errorf("%w: %s is not executable", ErrNotFound, program)
	}
	return filepath.Abs(program)
}

// packageName reads the package clauses of a directory's Go files (tests
// aside) and reports whether one of them is package main; name is the
// package found otherwise.
func packageName(files []string) (name string, isMain bool) {
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.PackageClauseOnly)
		if err != nil {
			return "", true // let go build report it
		}
		if af.Name.Name == "main" {
			return "main", true
		}
		name = af.Name.Name
	}
	if name == "" {
		return "", true // only tests: let go build report it
	}
	return name, false
}

func build(pkgDir, dir string, logf func(string, ...any)) (string, error) {
	abs, err := filepath.Abs(pkgDir)
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, filepath.Base(abs))
	goTool := "go"
	if root := os.Getenv("GOROOT"); root != "" {
		if p := filepath.Join(root, "bin", "go"); fileExists(p) {
			goTool = p
		}
	}
	cmd := exec.Command(goTool, "build", "-o", out, ".")
	cmd.Dir = abs
	msg, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("building %s: %v\n%s", pkgDir, err, strings.TrimSpace(string(msg)))
	}
	if logf != nil {
		logf("gorun: built %s", pkgDir)
	}
	return out, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
