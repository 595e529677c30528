package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/parallel"
)

// Event is when a stage ran, relative to the common start, as rank 0 saw
// it: submitted (its inputs were ready) and its result back.
type Event struct {
	Stage, Rank int
	Start, End  time.Duration
}

// stageOut is a stage's result as it travels back from a worker.
type stageOut struct {
	Frame Frame
	Rank  int
}

// Run executes the graph on a parallel.Executor over the ranks of c and
// returns rank 0's verdict on every rank. Every rank registers the stages
// by name; rank 0 is the client: one goroutine per stage waits for the
// futures of the stage's inputs, submits the stage with their frames, and
// publishes its own future, so a stage starts as soon as its inputs are
// ready and the independent transforms run at once (on two workers, or
// concurrently on one). With one rank, rank 0 runs the stages itself.
func Run(ctx context.Context, c *comm.Comm, p Params, out io.Writer) (bool, error) {
	rank := c.Rank()
	stages := Graph()
	reg := parallel.NewRegistry()
	fns := make([]parallel.Func[[]Frame, stageOut], len(stages))
	for i, s := range stages {
		fns[i] = parallel.Register(reg, s.Name, func(_ context.Context, in []Frame) (stageOut, error) {
			if len(in) != len(s.Deps) {
				return stageOut{}, fmt.Errorf("%s: %d inputs, want %d", s.Name, len(in), len(s.Deps))
			}
			time.Sleep(time.Duration(p.StageMS) * time.Millisecond) // simulated I/O
			res := s.Run(p, in)
			if p.Corrupt && s.Name == "join" && res.Len() > 0 {
				res.Cols["spend"][0]++
			}
			return stageOut{res, rank}, nil
		})
	}
	ex, err := parallel.NewExecutor(ctx, c, reg, parallel.ExecutorConfig{})
	if err != nil {
		return false, err
	}
	if err := collectives.Barrier(ctx, c); err != nil {
		return false, err
	}
	ok := true
	if ex.IsClient() {
		ok, err = drive(ctx, ex, fns, p, stages, out, c.Size())
		if err != nil {
			ex.Shutdown(ctx, parallel.Cancel)
			return false, err
		}
	}
	if err := ex.Shutdown(ctx, parallel.Drain); err != nil {
		return false, err
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

// drive schedules the graph from the client and checks the report.
func drive(ctx context.Context, ex *parallel.Executor, fns []parallel.Func[[]Frame, stageOut], p Params,
	stages []Stage, out io.Writer, size int) (bool, error) {
	t0 := time.Now()
	futures := make([]*parallel.Future[stageOut], len(stages))
	ready := make([]chan struct{}, len(stages)) // closed once futures[i] is set
	for i := range ready {
		ready[i] = make(chan struct{})
	}
	events := make([]Event, len(stages))
	errs := make(chan error, len(stages))
	for i, s := range stages {
		go func() {
			err := func() error {
				in := make([]Frame, len(s.Deps))
				for k, d := range s.Deps {
					select {
					case <-ready[d]:
					case <-ctx.Done():
						return ctx.Err()
					}
					r, err := futures[d].Wait(ctx)
					if err != nil {
						return fmt.Errorf("%s: input from %s: %w", s.Name, stages[d].Name, err)
					}
					in[k] = r.Frame
				}
				events[i] = Event{Stage: i, Start: time.Since(t0)}
				f, err := parallel.Submit(ctx, ex, fns[i], in)
				if err != nil {
					return err
				}
				futures[i] = f
				close(ready[i])
				r, err := f.Wait(ctx)
				if err != nil {
					return fmt.Errorf("%s: %w", s.Name, err)
				}
				events[i].End, events[i].Rank = time.Since(t0), r.Rank
				return nil
			}()
			errs <- err
		}()
	}
	var first error
	for range stages {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		return false, first
	}
	wall := time.Since(t0)
	final, err := futures[len(stages)-1].Wait(ctx)
	if err != nil {
		return false, err
	}
	return check(out, p, stages, events, final.Frame, wall, size), nil
}

func check(out io.Writer, p Params, stages []Stage, byStage []Event, final Frame, wall time.Duration, size int) bool {
	fmt.Fprintf(out, "pipeline: %d stages on %d ranks, %d orders; every stage also waits %d ms (simulated I/O)\n",
		len(stages), size, p.Orders, p.StageMS)
	var busy time.Duration
	scale := float64(wall) / 50
	for i, s := range stages {
		e := byStage[i]
		busy += e.End - e.Start
		deps := make([]string, len(s.Deps))
		for k, d := range s.Deps {
			deps[k] = stages[d].Name
		}
		bar := strings.Repeat(" ", int(float64(e.Start)/scale)) + strings.Repeat("█", max(1, int(float64(e.End-e.Start)/scale)))
		fmt.Fprintf(out, "  %-8s rank %d  %7.1f → %7.1f ms  |%-51s| after: %s\n",
			s.Name, e.Rank, ms(e.Start), ms(e.End), bar, strings.Join(deps, ", "))
	}
	fmt.Fprintf(out, "pipeline: done in %.1f ms; the stages took %.1f ms in total (spend and stats overlap)\n", ms(wall), ms(busy))
	if byStage[1].Start > byStage[2].End || byStage[2].Start > byStage[1].End {
		fmt.Fprintf(out, "note: spend and stats did not overlap this time\n")
	}

	// The reference: the same graph, serially, in topological order.
	outs := make([]Frame, len(stages))
	for i, s := range stages {
		in := make([]Frame, len(s.Deps))
		for k, d := range s.Deps {
			in[k] = outs[d]
		}
		outs[i] = s.Run(p, in)
	}
	want := outs[len(outs)-1]
	if diff := equalFrames(final, want); diff != "" {
		fmt.Fprintf(out, "FAILED pipeline: report differs from the serial run: %s\n", diff)
		return false
	}
	f := final.Cols
	fmt.Fprintf(out, "top customers:")
	for i := range min(3, len(f["customer"])) {
		fmt.Fprintf(out, "  #%d spent $%d.%02d in %d orders", f["customer"][i], f["spend"][i]/100, f["spend"][i]%100, f["orders"][i])
	}
	fmt.Fprintln(out)
	fmt.Fprintf(out, "OK pipeline: report equals the serial run (revenue $%d.%02d, %d orders, %d customers)\n",
		f["total"][0]/100, f["total"][0]%100, f["total"][1], f["total"][2])
	return true
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
