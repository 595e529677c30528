package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/parallel"
)

// JobResult is what a job sends back to rank 0 (a Go value: the executor
// encodes it with msgpack).
type JobResult struct {
	Job      int
	Name     string
	Rank     int
	Checksum uint64 // download and lookup
	Primes   int64  // primes
	Report   Report // report
	TookMS   float64
	Err      string
}

type job struct {
	name string
	run  func() JobResult // without the simulated waits when wait is false
}

// jobList returns the jobs; with wait false the simulated I/O waits are
// skipped (for the serial reference).
func jobList(p Params, wait bool) []job {
	sleep := func(ms int) {
		if wait {
			time.Sleep(time.Duration(ms) * time.Millisecond) // simulated I/O
		}
	}
	return []job{
		{"download", func() JobResult {
			sleep(p.DownloadMS)
			return JobResult{Checksum: fakeDownload("download", 50_000)}
		}},
		{"lookup", func() JobResult {
			sleep(p.LookupMS)
			return JobResult{Checksum: fakeDownload("lookup", 1_000)}
		}},
		{"primes", func() JobResult {
			return JobResult{Primes: sieveCount(p.PrimesN)}
		}},
		{"report", func() JobResult {
			return JobResult{Report: makeReport(reportText)}
		}},
	}
}

// runJobs runs the jobs through a parallel.Executor: every rank registers
// the same job functions; rank 0 submits the four jobs (executor.submit),
// the other ranks run them (each job in its own goroutine, so a rank
// waiting on I/O runs another job meanwhile), and rank 0 takes the results
// in completion order with parallel.AsCompleted, like
// concurrent.futures.as_completed. With one rank, rank 0 runs them itself.
func runJobs(ctx context.Context, c *comm.Comm, p Params, out io.Writer) (bool, error) {
	rank, size := c.Rank(), c.Size()
	jobs := jobList(p, true)
	reg := parallel.NewRegistry()
	fns := make([]parallel.Func[int, JobResult], len(jobs))
	for i, j := range jobs {
		fns[i] = parallel.Register(reg, j.name, func(_ context.Context, job int) (JobResult, error) {
			t := time.Now()
			res := j.run()
			res.Job, res.Name, res.Rank = job, j.name, rank
			res.TookMS = ms(time.Since(t))
			if p.Corrupt && j.name == "primes" {
				res.Primes++
			}
			return res, nil
		})
	}
	ex, err := parallel.NewExecutor(ctx, c, reg, parallel.ExecutorConfig{InFlight: len(jobs)})
	if err != nil {
		return false, err
	}
	if err := collectives.Barrier(ctx, c); err != nil {
		return false, err
	}
	start := time.Now()
	if !ex.IsClient() {
		return true, ex.Shutdown(ctx, parallel.Drain)
	}

	fmt.Fprintf(out, "jobs: %d different jobs on %d ranks, results as they complete:\n", len(jobs), size)
	futures := make([]*parallel.Future[JobResult], len(jobs))
	for i := range jobs {
		if futures[i], err = parallel.Submit(ctx, ex, fns[i], i); err != nil {
			ex.Shutdown(ctx, parallel.Cancel)
			return false, err
		}
	}
	results := make([]JobResult, len(jobs))
	seen := make([]bool, len(jobs))
	var sumMS float64
	for f, err := range parallel.AsCompleted(ctx, futures) {
		if err != nil {
			return false, err
		}
		r, err := f.Wait(ctx)
		if err != nil {
			ex.Shutdown(ctx, parallel.Cancel)
			return false, err
		}
		if r.Job < 0 || r.Job >= len(jobs) || seen[r.Job] {
			ex.Shutdown(ctx, parallel.Cancel)
			return false, fmt.Errorf("tasks: unexpected result for job %d", r.Job)
		}
		seen[r.Job] = true
		results[r.Job] = r
		sumMS += r.TookMS
		fmt.Fprintf(out, "  %7.1f ms  %-8s from rank %d (ran %.1f ms)\n", ms(time.Since(start)), r.Name, r.Rank, r.TookMS)
	}
	if err := ex.Shutdown(ctx, parallel.Drain); err != nil {
		return false, err
	}
	wall := ms(time.Since(start))
	fmt.Fprintf(out, "jobs: all done in %.1f ms; run one after another they took %.1f ms\n", wall, sumMS)

	// Check every result against the same job run serially here.
	ok := true
	for i, j := range jobList(p, false) {
		want := j.run()
		got := results[i]
		if got.Checksum != want.Checksum || got.Primes != want.Primes || got.Report != want.Report {
			fmt.Fprintf(out, "FAILED jobs: %s gave %+v, serial gives %+v\n", j.name, got, want)
			ok = false
		}
	}
	if ok {
		r := results[3].Report
		fmt.Fprintf(out, "OK jobs: every result equals the serial one (%d primes below %d; report: %d words, %d distinct, top %q ×%d)\n",
			results[2].Primes, p.PrimesN, r.Words, r.Distinct, r.Top, r.TopCount)
	}
	return ok, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
