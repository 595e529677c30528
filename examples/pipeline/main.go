// Command pipeline runs a small graph of dependent stages across ranks, the
// way a Dask task graph or a Spark DAG is scheduled:
//
//	extract ─┬─> spend ──┐
//	         └─> stats ──┴─> join ──> report
//
// extract produces a table of orders; spend (revenue per customer) and stats
// (orders and largest order per customer) are independent transforms of it;
// join merges them; report ranks the customers. The graph runs on a
// parallel.Executor: every rank registers the stages by name, and rank 0
// submits each stage as soon as the futures of its inputs are done, so the
// independent transforms run at once on the workers. Outputs are small data
// frames of int64 columns, the stages' arguments and results (msgpack).
// -stage-ms adds a simulated wait (I/O, an external service) to every stage
// so that the overlap is visible.
//
// Rank 0 prints the timeline and checks the report against the same graph run
// serially in one goroutine.
//
//	go run ./cmd/gorun -np 4 ./examples/pipeline
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
	Orders    int   // rows extract produces
	Customers int64 // distinct customers
	StageMS   int   // simulated wait in every stage
	Corrupt   bool  // spoil the join's output on purpose (tests)
}

func main() {
	var p Params
	flag.IntVar(&p.Orders, "orders", 200_000, "number of orders extract produces")
	flag.Int64Var(&p.Customers, "customers", 2000, "number of distinct customers")
	flag.IntVar(&p.StageMS, "stage-ms", 100, "simulated wait (I/O) added to every stage, in ms")
	flag.BoolVar(&p.Corrupt, "corrupt", false, "spoil one stage's output on purpose (to test the check)")
	flag.Parse()

	exmain.Main("pipeline", func(ctx context.Context, c *comm.Comm, out io.Writer) (bool, error) {
		return Run(ctx, c, p, out)
	})
}
