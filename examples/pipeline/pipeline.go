package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
)

// place is the rank that runs stage i.
func place(i, size int) int { return i % size }

// edgeTag is the tag of the message from stage from to stage to.
func edgeTag(from, to int) int { return 1000 + 64*from + to }

// tagFinal carries the last stage's output to rank 0.
const tagFinal = 999

// Event is when a stage ran, relative to the common start.
type Event struct {
	Stage, Rank int
	Start, End  time.Duration // inputs received; output delivered
}

// Run executes the graph across the ranks of c and returns rank 0's verdict
// on every rank.
func Run(ctx context.Context, c *comm.Comm, p Params, out io.Writer) (bool, error) {
	rank, size := c.Rank(), c.Size()
	stages := Graph()
	consumers := make([][]int, len(stages))
	for i, s := range stages {
		for _, d := range s.Deps {
			consumers[d] = append(consumers[d], i)
		}
	}
	last := len(stages) - 1
	if err := collectives.Barrier(ctx, c); err != nil {
		return false, err
	}
	t0 := time.Now()

	// Start every stage this rank hosts.
	type done struct {
		ev  Event
		err error
	}
	results := make(chan done)
	hosted := 0
	for i, s := range stages {
		if place(i, size) != rank {
			continue
		}
		hosted++
		go func() {
			ev := Event{Stage: i, Rank: rank}
			err := func() error {
				in := make([]Frame, len(s.Deps))
				for k, d := range s.Deps {
					var err error
					if in[k], err = recvFrame(ctx, c, place(d, size), edgeTag(d, i)); err != nil {
						return fmt.Errorf("%s: input from %s: %w", s.Name, stages[d].Name, err)
					}
				}
				ev.Start = time.Since(t0)
				time.Sleep(time.Duration(p.StageMS) * time.Millisecond) // simulated I/O
				res := s.Run(p, in)
				if p.Corrupt && s.Name == "join" && res.Len() > 0 {
					res.Cols["spend"][0]++
				}
				// Send to every consumer at once, so that one that is
				// not yet receiving does not hold up the others.
				errs := make(chan error, len(consumers[i])+1)
				for _, to := range consumers[i] {
					go func() {
						err := sendFrame(ctx, c, res, place(to, size), edgeTag(i, to))
						if err != nil {
							err = fmt.Errorf("%s: output to %s: %w", s.Name, stages[to].Name, err)
						}
						errs <- err
					}()
				}
				if i == last {
					go func() { errs <- sendFrame(ctx, c, res, 0, tagFinal) }()
				}
				var first error
				for range cap(errs) - 1 + boolInt(i == last) {
					if err := <-errs; err != nil && first == nil {
						first = err
					}
				}
				if first != nil {
					return first
				}
				ev.End = time.Since(t0)
				return nil
			}()
			results <- done{ev, err}
		}()
	}

	// Rank 0 receives the final output while the stages run.
	var final Frame
	finalErr := make(chan error, 1)
	if rank == 0 {
		go func() {
			var err error
			final, err = recvFrame(ctx, c, place(last, size), tagFinal)
			finalErr <- err
		}()
	}
	var events []Event
	var firstErr error
	for range hosted {
		d := <-results
		if d.err != nil && firstErr == nil {
			firstErr = d.err
		}
		events = append(events, d.ev)
	}
	if firstErr != nil {
		return false, firstErr
	}
	if rank == 0 {
		if err := <-finalErr; err != nil {
			return false, err
		}
	}
	wall := time.Since(t0)

	var all [][]Event
	if rank == 0 {
		all = make([][]Event, size)
	}
	if err := collectives.GatherValue(ctx, c, all, events, 0); err != nil {
		return false, err
	}
	ok := true
	if rank == 0 {
		ok = check(out, p, stages, all, final, wall)
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

func check(out io.Writer, p Params, stages []Stage, all [][]Event, final Frame, wall time.Duration) bool {
	byStage := make([]Event, len(stages))
	for _, evs := range all {
		for _, e := range evs {
			byStage[e.Stage] = e
		}
	}
	fmt.Fprintf(out, "pipeline: %d stages on %d ranks, %d orders; every stage also waits %d ms (simulated I/O)\n",
		len(stages), len(all), p.Orders, p.StageMS)
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

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// sendFrame sends a frame as a small header (column names and lengths, a Go
// value) followed by each column as raw int64 memory, with no encoding.
// Messages from one sender with one tag arrive in order, so the receiver
// takes them in the same sequence.
func sendFrame(ctx context.Context, c *comm.Comm, f Frame, dest, tag int) error {
	names := make([]string, 0, len(f.Cols))
	for name := range f.Cols {
		names = append(names, name)
	}
	slices.Sort(names)
	lens := make([]int, len(names))
	for i, name := range names {
		lens[i] = len(f.Cols[name])
	}
	if err := comm.SendValue(ctx, c, frameHeader{names, lens}, dest, tag); err != nil {
		return err
	}
	for _, name := range names {
		if err := comm.Send(ctx, c, f.Cols[name], dest, tag); err != nil {
			return err
		}
	}
	return nil
}

type frameHeader struct {
	Names []string
	Lens  []int
}

func recvFrame(ctx context.Context, c *comm.Comm, source, tag int) (Frame, error) {
	var h frameHeader
	if _, err := comm.RecvValue(ctx, c, &h, source, tag); err != nil {
		return Frame{}, err
	}
	f := Frame{Cols: make(map[string][]int64, len(h.Names))}
	if len(h.Lens) != len(h.Names) {
		return Frame{}, fmt.Errorf("pipeline: bad frame header %+v", h)
	}
	for i, name := range h.Names {
		col := make([]int64, h.Lens[i])
		if _, err := comm.Recv(ctx, c, col, source, tag); err != nil {
			return Frame{}, err
		}
		f.Cols[name] = col
	}
	return f, nil
}
