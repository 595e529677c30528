// Command p2p is an OSU-style point-to-point benchmark run under gorun:
//
//	gorun -np 2 ./bench/p2p -test latency    # ping-pong, half round trip in µs
//	gorun -np 2 ./bench/p2p -test bw         # windowed bandwidth in MB/s
//	gorun -np 4 ./bench/p2p -test ring       # a message passed around all ranks, µs per hop
//	gorun -np 2 ./bench/p2p -test testloop   # ping-pong whose receives complete by a loop of Test
//
// It follows the OSU micro-benchmarks' method: for each size, warm-up
// iterations, then timed iterations; latency is half the mean round trip of
// a blocking ping-pong between ranks 0 and 1; bandwidth is the rate of a
// window of 64 non-blocking sends completed by a 4-byte acknowledgement.
// The ring test (not an OSU test) passes a message around all ranks, rank
// r receiving from r-1 and sending to r+1, and reports the time per hop:
// with more ranks than cores, what a hop costs when the next rank must be
// scheduled. The testloop test (not an OSU test either) is the ping-pong
// with each receive posted by Irecv and completed by calling Test until it
// reports completion, as a program that polls between pieces of work does
// (mpi4py's `while not req.Test()`): what a Test-driven rank pays per
// message. Each size is measured -reps times and the median printed. Sizes are
// powers of two from -min to -max bytes.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/gorun-hpc/gorun/comm"
)

func main() {
	test := flag.String("test", "latency", "latency | bw | ring | testloop")
	minSize := flag.Int("min", 1, "smallest message size in bytes")
	maxSize := flag.Int("max", 4<<20, "largest message size in bytes")
	reps := flag.Int("reps", 5, "measurements per size; the median is printed")
	window := flag.Int("window", 64, "bandwidth: sends in flight per iteration")
	cpuprofile := flag.String("cpuprofile", "", "write rank 0's CPU profile to this file")
	flag.Parse()
	c, err := comm.Init()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if c.Size() < 2 {
		fmt.Fprintln(os.Stderr, "p2p: needs 2 ranks: gorun -np 2 ./bench/p2p")
		os.Exit(2)
	}
	ctx := context.Background()
	if *cpuprofile != "" && c.Rank() == 0 {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if c.Rank() == 0 {
		switch *test {
		case "bw":
			fmt.Printf("# gorun OSU-style bandwidth test (window %d, median of %d)\n# %-10s %16s\n", *window, *reps, "Size", "Bandwidth (MB/s)")
		case "testloop":
			fmt.Printf("# gorun latency test, receives completed by Test loops (median of %d)\n# %-10s %16s\n", *reps, "Size", "Latency (us)")
		case "ring":
			fmt.Printf("# gorun ring test (np %d, median of %d)\n# %-10s %16s\n", c.Size(), *reps, "Size", "Per hop (us)")
		default:
			fmt.Printf("# gorun OSU-style latency test (median of %d)\n# %-10s %16s\n", *reps, "Size", "Latency (us)")
		}
	}
	for size := *minSize; size <= *maxSize; size *= 2 {
		var vals []float64
		for range *reps {
			var v float64
			var err error
			switch *test {
			case "bw":
				v, err = bandwidth(ctx, c, size, *window)
			case "ring":
				v, err = ring(ctx, c, size)
			case "testloop":
				v, err = testLoop(ctx, c, size)
			default:
				v, err = latency(ctx, c, size)
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			vals = append(vals, v)
		}
		if c.Rank() == 0 {
			slices.Sort(vals)
			fmt.Printf("%-12d %16.2f\n", size, vals[len(vals)/2])
		}
		if size == 0 {
			break
		}
	}
	if err := c.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pprof.StopCPUProfile()
}

// iterations as the OSU benchmarks choose them: fewer for large messages.
func iterations(size int, small, large, skipSmall, skipLarge int) (int, int) {
	if size > 8192 {
		return large, skipLarge
	}
	return small, skipSmall
}

func latency(ctx context.Context, c *comm.Comm, size int) (float64, error) {
	iters, skip := iterations(size, 10000, 1000, 100, 10)
	buf := make([]byte, size)
	var start time.Time
	for i := range iters + skip {
		if i == skip {
			start = time.Now()
		}
		switch c.Rank() {
		case 0:
			if err := comm.Send(ctx, c, buf, 1, 1); err != nil {
				return 0, err
			}
			if _, err := comm.Recv(ctx, c, buf, 1, 1); err != nil {
				return 0, err
			}
		case 1:
			if _, err := comm.Recv(ctx, c, buf, 0, 1); err != nil {
				return 0, err
			}
			if err := comm.Send(ctx, c, buf, 0, 1); err != nil {
				return 0, err
			}
		}
	}
	return time.Since(start).Seconds() * 1e6 / float64(2*iters), nil
}

// testLoop is latency with every receive completed by a loop of Test.
func testLoop(ctx context.Context, c *comm.Comm, size int) (float64, error) {
	iters, skip := iterations(size, 10000, 1000, 100, 10)
	buf := make([]byte, size)
	peer := 1 - c.Rank()
	recv := func() error {
		r := comm.Irecv(c, buf, peer, 1)
		for {
			done, _, err := r.Test()
			if done || err != nil {
				return err
			}
		}
	}
	var start time.Time
	for i := range iters + skip {
		if i == skip {
			start = time.Now()
		}
		if c.Rank() == 1 {
			if err := recv(); err != nil {
				return 0, err
			}
		}
		if c.Rank() <= 1 {
			if err := comm.Send(ctx, c, buf, peer, 1); err != nil {
				return 0, err
			}
		}
		if c.Rank() == 0 {
			if err := recv(); err != nil {
				return 0, err
			}
		}
	}
	return time.Since(start).Seconds() * 1e6 / float64(2*iters), nil
}

// ring passes a message of size bytes around all ranks and returns µs per
// hop, measured at rank 0.
func ring(ctx context.Context, c *comm.Comm, size int) (float64, error) {
	iters, skip := iterations(size, 10000, 1000, 100, 10)
	p, r := c.Size(), c.Rank()
	next, prev := (r+1)%p, (r+p-1)%p
	buf := make([]byte, size)
	var start time.Time
	for i := range iters + skip {
		if i == skip {
			start = time.Now()
		}
		if r == 0 {
			if err := comm.Send(ctx, c, buf, next, 4); err != nil {
				return 0, err
			}
		}
		if _, err := comm.Recv(ctx, c, buf, prev, 4); err != nil {
			return 0, err
		}
		if r != 0 {
			if err := comm.Send(ctx, c, buf, next, 4); err != nil {
				return 0, err
			}
		}
	}
	return time.Since(start).Seconds() * 1e6 / float64(iters*p), nil
}

func bandwidth(ctx context.Context, c *comm.Comm, size, window int) (float64, error) {
	iters, skip := iterations(size, 100, 20, 10, 2)
	bufs := make([][]byte, window)
	for i := range bufs {
		bufs[i] = make([]byte, size)
	}
	ack := make([]byte, 4)
	reqs := make([]*comm.Request, window)
	var start time.Time
	for i := range iters + skip {
		if i == skip {
			start = time.Now()
		}
		switch c.Rank() {
		case 0:
			for w := range window {
				reqs[w] = comm.Isend(c, bufs[w], 1, 2)
			}
			if err := comm.WaitAll(ctx, reqs...); err != nil {
				return 0, err
			}
			if _, err := comm.Recv(ctx, c, ack, 1, 3); err != nil {
				return 0, err
			}
		case 1:
			for w := range window {
				reqs[w] = comm.Irecv(c, bufs[w], 0, 2)
			}
			if err := comm.WaitAll(ctx, reqs...); err != nil {
				return 0, err
			}
			if err := comm.Send(ctx, c, ack, 0, 3); err != nil {
				return 0, err
			}
		}
	}
	secs := time.Since(start).Seconds()
	return float64(size) * float64(window) * float64(iters) / secs / 1e6, nil
}
