package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
)

const tagJobResult = 1

// JobResult is what a job sends back to rank 0 (a Go value: it travels with
// SendValue, encoded with msgpack).
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

// runJobs deals job i to rank i mod size. Each rank starts its jobs at once
// (goroutines: a rank waiting on I/O can run another job meanwhile) and sends
// each result to rank 0 as soon as it is ready; rank 0 receives them from
// AnySource, in completion order, like concurrent.futures.as_completed.
func runJobs(ctx context.Context, c *comm.Comm, p Params, out io.Writer) (bool, error) {
	rank, size := c.Rank(), c.Size()
	jobs := jobList(p, true)
	if err := collectives.Barrier(ctx, c); err != nil {
		return false, err
	}
	start := time.Now()

	var wg sync.WaitGroup
	errs := make(chan error, len(jobs))
	for i, j := range jobs {
		if i%size != rank {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.Now()
			res := j.run()
			res.Job, res.Name, res.Rank = i, j.name, rank
			res.TookMS = ms(time.Since(t))
			if p.Corrupt && j.name == "primes" {
				res.Primes++
			}
			// Rank 0 sends its own results to itself: one code path
			// for every job, wherever it runs.
			if err := comm.SendValue(ctx, c, res, 0, tagJobResult); err != nil {
				errs <- err
			}
		}()
	}
	if rank != 0 {
		wg.Wait()
		close(errs)
		return true, <-errs
	}

	fmt.Fprintf(out, "jobs: %d different jobs on %d ranks, results as they complete:\n", len(jobs), size)
	results := make([]JobResult, len(jobs))
	seen := make([]bool, len(jobs))
	var sumMS float64
	for range jobs {
		var r JobResult
		if _, err := comm.RecvValue(ctx, c, &r, comm.AnySource, tagJobResult); err != nil {
			return false, err
		}
		if r.Job < 0 || r.Job >= len(jobs) || seen[r.Job] {
			return false, fmt.Errorf("tasks: unexpected result for job %d", r.Job)
		}
		seen[r.Job] = true
		results[r.Job] = r
		sumMS += r.TookMS
		fmt.Fprintf(out, "  %7.1f ms  %-8s from rank %d (ran %.1f ms)\n", ms(time.Since(start)), r.Name, r.Rank, r.TookMS)
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
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
