// Command wordcount is MapReduce's word count with gorun: text files are
// split across ranks, each rank counts the words of its files (map, with the
// counts combined locally), the counts are shuffled to the rank that owns
// each word by hash and summed there, the reduce (parallel.GroupBy with
// parallel.Sum; Go strings travel encoded with msgpack). Rank 0 gathers the
// counts and checks them against a serial count of all the files.
//
// Files come from the command line, or, with none, the program writes a
// synthetic corpus (-files, -words, -seed) to the temporary directory.
//
//	go run ./cmd/gorun -np 4 ./examples/wordcount
//	go run ./cmd/gorun -np 2 ./examples/wordcount -top 5 /usr/share/common-licenses/*
package main

import (
	"context"
	"flag"
	"io"

	"github.com/gorun-hpc/gorun/comm"

	"github.com/gorun-hpc/gorun/examples/internal/exmain"
)

// Params configure a run.
type Params struct {
	Files   []string // the input; nil means the synthetic corpus
	Corpus  CorpusSpec
	Dir     string // where the synthetic corpus goes; "" means Corpus.DefaultDir()
	Top     int    // how many of the most frequent words to print
	Check   bool
	Corrupt bool // spoil one count on purpose (tests)
}

func main() {
	var p Params
	flag.IntVar(&p.Corpus.Files, "files", 16, "synthetic corpus: number of files")
	flag.IntVar(&p.Corpus.Words, "words", 200_000, "synthetic corpus: words per file (on average; file sizes vary)")
	flag.Uint64Var(&p.Corpus.Seed, "seed", 1, "synthetic corpus: random seed")
	flag.StringVar(&p.Dir, "dir", "", "directory of the synthetic corpus (default: named after it in the temporary directory)")
	flag.IntVar(&p.Top, "top", 10, "print the N most frequent words")
	flag.BoolVar(&p.Check, "check", true, "check the counts against a serial count on rank 0")
	flag.BoolVar(&p.Corrupt, "corrupt", false, "spoil one count on purpose (to test the check)")
	flag.Parse()
	p.Files = flag.Args()

	exmain.Main("wordcount", func(ctx context.Context, c *comm.Comm, out io.Writer) (bool, error) {
		return Run(ctx, c, p, out)
	})
}
