// Package topotest expands compact sysfs fixture descriptions into
// in-memory file systems, so that tests of package topology and of its users
// (kernels/affinity) can replay the layout of machines they do not run on.
//
// # Fixture format
//
// A fixture is UTF-8 text, one file per line: a path relative to
// /sys/devices/system, white space, and the file's contents (the rest of the
// line; a newline is appended, as sysfs does). Blank lines and lines
// starting with '#' are ignored. The path may contain one range "{a-b}" or
// "{a-b:s}" (stride s); the line is then repeated for every number n in the
// range, with the range replaced by n in the path and, in the contents,
// every "$" replaced by n and every "$+k", "$-k", "$%k", "$/k" by the result
// of that operation on n. For example
//
//	cpu/cpu{0-7}/topology/core_id $%4
//
// describes eight files whose contents are 0 1 2 3 0 1 2 3.
//
// Functions here are safe for concurrent use.
package topotest

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing/fstest"

	"github.com/gorun-hpc/gorun/kernels/topology"
)

var (
	rangeRE = regexp.MustCompile(`\{(\d+)-(\d+)(?::(\d+))?\}`)
	exprRE  = regexp.MustCompile(`\$(?:([-+%/])(\d+))?`)
)

// Expand turns fixture text into a file system.
func Expand(text string) (fstest.MapFS, error) {
	fsys := fstest.MapFS{}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		p, val, _ := strings.Cut(line, " ")
		val = strings.TrimSpace(val)
		m := rangeRE.FindStringSubmatchIndex(p)
		if m == nil {
			fsys[p] = &fstest.MapFile{Data: []byte(val + "\n")}
			continue
		}
		lo, _ := strconv.Atoi(p[m[2]:m[3]])
		hi, _ := strconv.Atoi(p[m[4]:m[5]])
		step := 1
		if m[6] >= 0 {
			step, _ = strconv.Atoi(p[m[6]:m[7]])
		}
		if step <= 0 || hi < lo || hi-lo > 1<<16 {
			return nil, fmt.Errorf("topotest: line %d: bad range", lineNo)
		}
		for n := lo; n <= hi; n += step {
			name := p[:m[0]] + strconv.Itoa(n) + p[m[1]:]
			var bad error
			data := exprRE.ReplaceAllStringFunc(val, func(e string) string {
				sm := exprRE.FindStringSubmatch(e)
				if sm[1] == "" {
					return strconv.Itoa(n)
				}
				k, _ := strconv.Atoi(sm[2])
				switch sm[1] {
				case "+":
					return strconv.Itoa(n + k)
				case "-":
					return strconv.Itoa(n - k)
				}
				if k == 0 {
					bad = fmt.Errorf("topotest: line %d: division by zero", lineNo)
					return ""
				}
				if sm[1] == "%" {
					return strconv.Itoa(n % k)
				}
				return strconv.Itoa(n / k)
			})
			if bad != nil {
				return nil, bad
			}
			fsys[name] = &fstest.MapFile{Data: []byte(data + "\n")}
		}
	}
	return fsys, sc.Err()
}

// Load reads the fixture file at path and detects a topology from it with
// the given allowed set (nil: every online CPU).
func Load(path string, allowed topology.CPUSet) (*topology.Topology, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	fsys, err := Expand(string(b))
	if err != nil {
		return nil, err
	}
	return topology.DetectFS(fsys, topology.Options{Allowed: allowed, Source: path})
}
