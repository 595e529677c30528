// Command plot draws the figures of gorun's benchmarks from the CSV files
// the benchmarks write. It is its own module (bench/plot/go.mod) so that
// the plotting library, gonum.org/v1/plot, and its font and PDF
// dependencies stay out of the gorun module's graph: the benchmarks
// themselves only write CSV.
//
//	go -C bench/plot run . granularity -in $PWD/bench/granularity/results.csv -out $PWD/bench/granularity/granularity
//	go -C bench/plot run . scaling -in $PWD/bench/scaling/out/scaling.csv -out $PWD/bench/scaling/out
//	go -C bench/plot run . kernels -in $PWD/bench/kernels/out/kernels.csv -out $PWD/bench/kernels/out
//	go -C bench/plot run . parallel -in $PWD/bench/parallel/results.csv -out $PWD/bench/parallel/parallel
//
// (go -C runs in bench/plot, so paths are best given absolute.) Each
// subcommand writes a PNG and an SVG of every figure; -h lists its flags.
// A malformed CSV is reported with its file and line and the exit status
// is 1; an unknown subcommand is a usage error (exit 2).
package main

import (
	"fmt"
	"os"
)

var commands = map[string]func(args []string) error{
	"granularity": granularity,
	"scaling":     scaling,
	"kernels":     kernels,
	"parallel":    parallel,
}

func main() {
	if len(os.Args) < 2 || commands[os.Args[1]] == nil {
		fmt.Fprintln(os.Stderr, "usage: plot granularity|scaling|kernels|parallel [flags]")
		os.Exit(2)
	}
	if err := commands[os.Args[1]](os.Args[2:]); err != nil {
		fmt.Fprintln(os.Stderr, "plot "+os.Args[1]+":", err)
		os.Exit(1)
	}
}
