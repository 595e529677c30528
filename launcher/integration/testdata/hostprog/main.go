// Command hostprog is the rank program of the multi-host integration
// tests. -mode coll exchanges data around a ring of ranks (so across hosts)
// and runs collectives; -mode block reports where it runs and then waits
// for a message that never comes.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
)

var mode = flag.String("mode", "coll", "coll | block")

func main() {
	flag.Parse()
	c, err := comm.Init()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx := context.Background()
	r, n := c.Rank(), c.Size()
	host, _ := os.Hostname()
	switch *mode {
	case "block":
		fmt.Printf("rank %d on %s pid %d: blocking\n", r, host, os.Getpid())
		_, err = comm.Recv(ctx, c, []byte{0}, (r+1)%n, 0)
		fmt.Printf("rank %d: blocked receive returned: %v\n", r, err)
		os.Exit(9)
	case "coll":
		err = coll(ctx, c, host)
	}
	if err != nil {
		fmt.Printf("rank %d: FAIL: %v\n", r, err)
		os.Exit(1)
	}
	fmt.Printf("rank %d/%d on %s local %d/%d: ok\n", r, n, host, c.LocalRank(), c.LocalSize())
	if err := c.Close(); err != nil {
		fmt.Printf("rank %d: close: %v\n", r, err)
		os.Exit(1)
	}
}

func coll(ctx context.Context, c *comm.Comm, host string) error {
	r, n := c.Rank(), c.Size()
	// Ring: every rank sends its host name and a block of numbers to the
	// next rank; with slot mapping most neighbours are on another host.
	left := (r + n - 1) % n
	for _, count := range []int{1, 1000, 200000} {
		send := make([]float64, count)
		for i := range send {
			send[i] = float64(r*count + i)
		}
		recv := make([]float64, count)
		if _, err := comm.Sendrecv(ctx, c, send, (r+1)%n, 1, recv, left, 1); err != nil {
			return err
		}
		for i := range recv {
			if recv[i] != float64(left*count+i) {
				return fmt.Errorf("ring %d: recv[%d]=%v", count, i, recv[i])
			}
		}
	}
	if err := comm.SendValue(ctx, c, host, (r+1)%n, 2); err != nil {
		return err
	}
	var leftHost string
	if _, err := comm.RecvValue(ctx, c, &leftHost, left, 2); err != nil {
		return err
	}
	fmt.Printf("rank %d on %s: left neighbour rank %d is on %s\n", r, host, left, leftHost)
	src := []float64{float64(r), 1}
	dst := make([]float64, 2)
	if err := collectives.Allreduce(ctx, c, dst, src, collectives.Sum[float64]()); err != nil {
		return err
	}
	if want := float64(n*(n-1)) / 2; dst[0] != want || dst[1] != float64(n) {
		return fmt.Errorf("allreduce: got %v, want [%v %d]", dst, want, n)
	}
	return collectives.Barrier(ctx, c)
}
