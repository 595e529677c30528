package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	scalingCSV = "mode,example,np,seconds,ncpu\nstrong,pi,1,1.0,2\nstrong,pi,2,0.52,2\nstrong,heat2d,1,0.8,2\nstrong,heat2d,2,0.45,2\nweak,pi,1,0.3,2\nweak,pi,2,0.31,2\n"
	kernelsCSV = "bench,title,unit,series,workers,value\ntriad,Triad,GB/s,pinned,1,15\ntriad,Triad,GB/s,pinned,2,29\ntriad,Triad,GB/s,unpinned,1,15\ntriad,Triad,GB/s,unpinned,2,29.5\ntriad,Triad,GB/s,C STREAM,0,28\ngemm,GEMM,GFLOP/s,pinned,1,9\ngemm,GEMM,GFLOP/s,pinned,2,17\n"
	granCSV    = "np,mode,grain_units,task_us,speedup\n2,farm,1,1.1,0.2\n2,farm,100,110,1.8\n2,static,0,0,1.9\n4,farm,100,105,1.7\n"
	parCSV     = "workload,peer,np,seconds,items,rate\nmap,gorun,2,0.03,1000000,3.7e+07\nmap,pool,2,0.35,1000000,2.8e+06\ngroupby,gorun,2,0.1,10000000,1e8\ngroupby,pandas,1,1,10000000,1e7\n"
)

// Each subcommand draws its figures from a small CSV.
func TestSubcommands(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		cmd, csv string
		files    []string
	}{
		{"scaling", write("scaling.csv", scalingCSV), []string{"strong.png", "strong.svg", "weak.png", "weak.svg"}},
		{"kernels", write("kernels.csv", kernelsCSV), []string{"triad.png", "triad.svg", "gemm.png", "gemm.svg"}},
		{"granularity", write("gran.csv", granCSV), []string{"granularity.png", "granularity.svg"}},
		{"parallel", write("par.csv", parCSV), []string{"parallel.png", "parallel.svg"}},
		// The tables the benchmarks wrote, as checked in.
		{"granularity", "../granularity/results.csv", []string{"granularity.png", "granularity.svg"}},
		{"parallel", "../parallel/results.csv", []string{"parallel.png", "parallel.svg"}},
	} {
		out := dir
		if tc.cmd == "granularity" || tc.cmd == "parallel" {
			out = filepath.Join(dir, tc.cmd)
		}
		for _, f := range tc.files {
			os.Remove(filepath.Join(dir, f))
		}
		if err := commands[tc.cmd]([]string{"-in", tc.csv, "-out", out}); err != nil {
			t.Fatalf("%s: %v", tc.cmd, err)
		}
		for _, f := range tc.files {
			if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
				t.Errorf("%s: %s: %v", tc.cmd, f, err)
			}
		}
	}
}

// Malformed tables are errors that name the file.
func TestMalformed(t *testing.T) {
	for _, body := range []string{
		"",
		"mode,example,np,seconds,ncpu\n",
		"mode,example,np\nstrong,pi,1\n",
		"mode,example,np,seconds,ncpu\nsideways,pi,1,1,2\n",
		"mode,example,np,seconds,ncpu\nstrong,pi,x,1,2\n",
		"mode,example,np,seconds,ncpu\nstrong,pi,1,0,2\n",
		"mode,example,np,seconds,ncpu\nstrong,pi,1,1\n",
	} {
		tab, err := parseTable("s.csv", strings.NewReader(body), "mode", "example", "np", "seconds", "ncpu")
		if err == nil {
			_, _, _, err = parseScaling(tab)
		}
		if err == nil || !strings.Contains(err.Error(), "s.csv") {
			t.Errorf("%q: %v, want an error naming s.csv", body, err)
		}
	}
}

// The granularity and parallel subcommands refuse a table with a missing
// column or a field that is not a number, naming the file.
func TestMalformedResults(t *testing.T) {
	dir := t.TempDir()
	for i, tc := range []struct{ cmd, body string }{
		{"granularity", "np,mode,grain_units,task_us\n2,farm,1,1.1\n"},
		{"granularity", "np,mode,grain_units,task_us,speedup\n2,farm,1,x,0.2\n"},
		{"granularity", "np,mode,grain_units,task_us,speedup\n"},
		{"parallel", "workload,peer,np,seconds,items\nmap,gorun,2,0.03,1000000\n"},
		{"parallel", "workload,peer,np,seconds,items,rate\nmap,gorun,2,0.03,1000000,fast\n"},
		{"parallel", "workload,peer,np,seconds,items,rate\nmap,gorun,2\n"},
	} {
		in := filepath.Join(dir, fmt.Sprintf("bad%d.csv", i))
		if err := os.WriteFile(in, []byte(tc.body), 0o644); err != nil {
			t.Fatal(err)
		}
		err := commands[tc.cmd]([]string{"-in", in, "-out", filepath.Join(dir, "out")})
		if err == nil || !strings.Contains(err.Error(), in) {
			t.Errorf("%s %q: %v, want an error naming %s", tc.cmd, tc.body, err, in)
		}
	}
}

// Arbitrary bytes never panic the parsers: a table either parses or is an
// error.
func FuzzParse(f *testing.F) {
	for _, s := range []string{scalingCSV, kernelsCSV, granCSV, "a,b\n1,2\n", "\"\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		if tab, err := parseTable("f.csv", strings.NewReader(body), "mode", "example", "np", "seconds", "ncpu"); err == nil {
			parseScaling(tab)
		}
		if tab, err := parseTable("f.csv", strings.NewReader(body), "bench", "title", "unit", "series", "workers", "value"); err == nil {
			parseKernels(tab)
		}
	})
}
