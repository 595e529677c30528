//go:build linux && !gorun_portable

package comm_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// TestPeekReads runs traffic through links whose reads leave the bytes
// queued in the kernel and discard them later: runs of small one-way
// messages that pass the discard threshold many times, messages just
// under, at and over it and far above it (where reads stop peeking and
// start again), rendezvous ones, and exchanges both ways at once. Every
// byte is checked, so a discard of too much or too little shows. With
// Spin -1 every wait parks (and discards what is queued first); with the
// default, waits poll and the threshold does the discarding.
func TestPeekReads(t *testing.T) {
	for _, spin := range []time.Duration{0, -1} {
		cfg := comm.Config{Transport: comm.TransportTCP, Yield: comm.Off, Spin: spin, TCP: comm.TCPConfig{PeekReads: comm.On}}
		name := "spin=default"
		if spin < 0 {
			name = "spin=off"
		}
		t.Run(name, func(t *testing.T) {
			if !linksPeek(t, cfg) {
				t.Skip("this kernel keeps no peek offset for TCP sockets: reads do not peek")
			}
			commtest.Run(t, 2, cfg, peekTraffic)
		})
	}
	t.Run("off", func(t *testing.T) {
		cfg := comm.Config{Transport: comm.TransportTCP, Yield: comm.Off, TCP: comm.TCPConfig{PeekReads: comm.Off}}
		if linksPeek(t, cfg) {
			t.Fatal("PeekReads off, but reads peek")
		}
		commtest.Run(t, 2, cfg, peekTraffic)
	})
	// An oversubscribed rank's reader peeks one byte to wait for data
	// (waitReadable), which would move the peek offset: its reads must
	// not peek.
	t.Run("yield", func(t *testing.T) {
		cfg := comm.Config{Transport: comm.TransportTCP, Yield: comm.On, TCP: comm.TCPConfig{PeekReads: comm.On}}
		if linksPeek(t, cfg) {
			t.Fatal("Yield on, but reads peek")
		}
		commtest.Run(t, 2, cfg, peekTraffic)
	})
}

// linksPeek reports whether two ranks started with cfg read by peeking.
func linksPeek(t *testing.T, cfg comm.Config) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	w, err := commtest.Start(ctx, 2, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	return comm.LinkPeeks(w.Comms[0], 1) && comm.LinkPeeks(w.Comms[1], 0)
}

// peekSizes cycles through the message sizes of peekTraffic: mostly small,
// then around the discard threshold (4 KiB), then bulk and rendezvous.
var peekSizes = []int{0, 1, 8, 40, 48, 500, 8, 8, 4095, 4096, 4097, 8, 20000, 8, 100 << 10, 8, 1 << 20, 3}

func peekFill(b []byte, from, i int) {
	for j := range b {
		b[j] = byte(from*131 + i*31 + j)
	}
}

func peekCheck(b []byte, from, i int) error {
	for j := range b {
		if b[j] != byte(from*131+i*31+j) {
			return fmt.Errorf("message %d from rank %d: byte %d of %d is %d, want %d", i, from, j, len(b), b[j], byte(from*131+i*31+j))
		}
	}
	return nil
}

func peekTraffic(ctx context.Context, c *comm.Comm) error {
	r := c.Rank()
	other := 1 - r
	// One way: 400 small messages, ten times the discard threshold.
	const oneWay = 400
	if r == 0 {
		for i := range oneWay {
			b := make([]byte, 100)
			peekFill(b, r, i)
			if err := comm.Send(ctx, c, b, other, 1); err != nil {
				return err
			}
		}
	} else {
		b := make([]byte, 100)
		for i := range oneWay {
			if _, err := comm.Recv(ctx, c, b, other, 1); err != nil {
				return err
			}
			if err := peekCheck(b, other, i); err != nil {
				return err
			}
		}
	}
	// Both ways at once, through every size.
	for i := range 3 * len(peekSizes) {
		n := peekSizes[i%len(peekSizes)]
		out, in := make([]byte, n), make([]byte, n)
		peekFill(out, r, i)
		if _, err := comm.Sendrecv(ctx, c, out, other, 2, in, other, 2); err != nil {
			return err
		}
		if err := peekCheck(in, other, i); err != nil {
			return err
		}
	}
	return nil
}
