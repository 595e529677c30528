// Command groupby is a distributed group-by aggregation over a CSV file, the
// pattern of pandas' groupby in Dask or a Spark reduceByKey: total sales,
// units and mean sale per store.
//
// Every rank reads its own byte range of the file (partitioning), and
// parallel.GroupBy hash-partitions the rows by key and exchanges them with
// Alltoallv (the shuffle), after a map-side combiner has pre-aggregated
// them, and each rank reduces the keys it owns. Rank 0 gathers the table and checks it equals a serial computation.
//
// The program writes its own synthetic data set (-rows, -keys, -seed) and
// keeps it in the temporary directory for the next run. -skew puts a fraction
// of the rows on one key; -mode chooses how the shuffle copes with it:
// combine (the default), salt (hot keys spread over ranks by a salt, then a
// second small shuffle) or raw (no fix: the owner of the hot key gets most of
// the rows). -compare runs all three on the same data and prints the timings.
// -row-cost adds work per row (an expensive per-row function), which is when
// the rank holding a hot key's rows becomes the straggler.
//
//	go run ./cmd/gorun -np 4 ./examples/groupby -rows 2000000 -skew 0.8 -compare -row-cost 300
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"

	"github.com/gorun-hpc/gorun/examples/internal/exmain"
)

// Params configure a run.
type Params struct {
	Data    DataSpec
	Path    string // the CSV file; "" means Data.DefaultPath()
	Mode    string // combine, salt or raw
	Compare bool   // run every mode
	Check   bool   // compare with a serial computation on rank 0
	Corrupt bool   // spoil one aggregate on purpose (tests)
	RowCost int    // extra work per row, in xorshift steps (see GroupBy)
}

func main() {
	var p Params
	flag.Int64Var(&p.Data.Rows, "rows", 1_000_000, "rows of the synthetic data set")
	flag.Int64Var(&p.Data.Keys, "keys", 1000, "number of stores (group-by keys)")
	flag.Float64Var(&p.Data.Skew, "skew", 0, "fraction of the rows that belong to store 0 (0: uniform)")
	flag.Uint64Var(&p.Data.Seed, "seed", 1, "random seed of the data set")
	flag.StringVar(&p.Path, "file", "", "CSV file to use (written if absent; default: a file named after the data set in the temporary directory)")
	flag.StringVar(&p.Mode, "mode", "combine", "combine (map-side combiner), salt (salt hot keys) or raw (no skew fix)")
	flag.BoolVar(&p.Compare, "compare", false, "run combine, salt and raw on the same data and compare their times")
	flag.BoolVar(&p.Check, "check", true, "check the result against a serial computation on rank 0")
	flag.IntVar(&p.RowCost, "row-cost", 0, "extra work per row where it is first aggregated, in xorshift steps (~1 ns each): an expensive per-row function, which makes skew cost time")
	flag.BoolVar(&p.Corrupt, "corrupt", false, "spoil one aggregate on purpose (to test the check)")
	flag.Parse()

	exmain.Main("groupby", func(ctx context.Context, c *comm.Comm, out io.Writer) (bool, error) {
		return Run(ctx, c, p, out)
	})
}

// Run generates the data set if needed, runs the group-by in the chosen
// mode(s) and returns rank 0's verdict on every rank.
func Run(ctx context.Context, c *comm.Comm, p Params, out io.Writer) (bool, error) {
	rank, size := c.Rank(), c.Size()
	path := p.Path
	if path == "" {
		path = p.Data.DefaultPath()
	}
	// Rank 0 writes the file; the others wait for its word.
	status := []int64{1}
	var genErr error
	if rank == 0 {
		if genErr = Generate(p.Data, path); genErr != nil {
			status[0] = 0
		}
	}
	if err := collectives.Bcast(ctx, c, status, 0); err != nil {
		return false, err
	}
	if status[0] == 0 {
		if genErr == nil {
			genErr = errors.New("groupby: rank 0 could not write the data set")
		}
		return false, genErr
	}
	fi, err := os.Stat(path)
	if err != nil {
		return false, err
	}
	lo, hi := fi.Size()*int64(rank)/int64(size), fi.Size()*int64(rank+1)/int64(size)

	modes := []string{p.Mode}
	if p.Compare {
		modes = []string{"combine", "salt", "raw"}
	}
	fmt.Fprintf(out, "groupby: %d rows (%.1f MB, %d stores, skew %g) on %d ranks; %s\n",
		p.Data.Rows, float64(fi.Size())/1e6, p.Data.Keys, p.Data.Skew, size, path)
	fmt.Fprintf(out, "%-8s %9s %9s %9s   %s\n", "mode", "total", "read", "group-by", "records received per rank: max / mean")

	var serial map[int64]Agg
	var serialTime time.Duration
	ok := true
	for _, mode := range modes {
		if err := collectives.Barrier(ctx, c); err != nil {
			return false, err
		}
		t := time.Now()
		mine, st, err := GroupBy(ctx, c, path, lo, hi, mode, p.RowCost)
		if err != nil {
			return false, err
		}
		elapsed := time.Since(t)
		if p.Corrupt && rank == size-1 {
			for k, a := range mine {
				a.Cents++
				mine[k] = a
				break
			}
		}
		// The slowest rank sets the time; the stats show why.
		local := []int64{int64(elapsed), int64(st.Read), int64(st.Group), st.Received, st.Rows}
		maxes := make([]int64, len(local))
		sums := make([]int64, len(local))
		if err := collectives.Reduce(ctx, c, maxes, local, collectives.Max[int64](), 0); err != nil {
			return false, err
		}
		if err := collectives.Reduce(ctx, c, sums, local, collectives.Sum[int64](), 0); err != nil {
			return false, err
		}
		table, err := gatherTable(ctx, c, mine)
		if err != nil {
			return false, err
		}
		if rank != 0 {
			continue
		}
		fmt.Fprintf(out, "%-8s %9s %9s %9s   %d / %d\n", mode,
			msStr(maxes[0]), msStr(maxes[1]), msStr(maxes[2]), maxes[3], sums[3]/int64(size))
		var sales, revenue int64
		for _, a := range table {
			sales += a.Count
			revenue += a.Cents
		}
		fmt.Fprintf(out, "%-8s result: %d stores, %d sales, revenue %s\n", mode, len(table), sales, money(revenue))
		if sums[4] != p.Data.Rows {
			fmt.Fprintf(out, "FAILED groupby %s: the ranks read %d rows, want %d\n", mode, sums[4], p.Data.Rows)
			ok = false
		}
		if !p.Check {
			continue
		}
		if serial == nil {
			t := time.Now()
			if serial, err = Serial(path); err != nil {
				return false, err
			}
			serialTime = time.Since(t)
		}
		if diff := compareTables(table, serial); diff != "" {
			fmt.Fprintf(out, "FAILED groupby %s: %s\n", mode, diff)
			ok = false
		}
		if ok && mode == modes[len(modes)-1] {
			report(out, table)
		}
	}
	if rank == 0 && p.Check {
		fmt.Fprintf(out, "serial (one process, one pass, one map): %s\n", msStr(int64(serialTime)))
		if ok {
			fmt.Fprintf(out, "OK groupby: %d stores, every aggregate equals the serial computation\n", len(serial))
		}
	}
	v := []int64{0}
	if ok {
		v[0] = 1
	}
	if err := collectives.Bcast(ctx, c, v, 0); err != nil {
		return false, err
	}
	return v[0] == 1, nil
}

func compareTables(got, want map[int64]Agg) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d keys, serial has %d", len(got), len(want))
	}
	for k, w := range want {
		if g, ok := got[k]; !ok || g != w {
			return fmt.Sprintf("store %d: %+v, serial gives %+v", k, g, w)
		}
	}
	return ""
}

// report prints the top stores by revenue and the revenue per region.
func report(out io.Writer, table map[int64]Agg) {
	keys := make([]int64, 0, len(table))
	byRegion := map[string]int64{}
	for k, a := range table {
		keys = append(keys, k)
		byRegion[regions[k%int64(len(regions))]] += a.Cents
	}
	slices.SortFunc(keys, func(a, b int64) int {
		if table[a].Cents != table[b].Cents {
			return int(table[b].Cents - table[a].Cents)
		}
		return int(a - b)
	})
	fmt.Fprintf(out, "top stores by revenue:")
	for _, k := range keys[:min(3, len(keys))] {
		a := table[k]
		fmt.Fprintf(out, "  store %d: %d sales, %s, mean %s", k, a.Count, money(a.Cents), money(a.Cents/max(a.Count, 1)))
	}
	fmt.Fprintln(out)
	fmt.Fprintf(out, "revenue per region:")
	for _, r := range regions {
		fmt.Fprintf(out, "  %s %s", r, money(byRegion[r]))
	}
	fmt.Fprintln(out)
}

func money(cents int64) string { return fmt.Sprintf("$%d.%02d", cents/100, cents%100) }

func msStr(ns int64) string { return fmt.Sprintf("%.1f ms", float64(ns)/1e6) }
