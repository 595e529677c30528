package comm_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// TestWaitModes makes every wait park (no polling) and runs it through
// both ways a link waits for its socket: with the socket outside the
// runtime's network poller, parking through an epoll set of its own (Yield
// off, a rank with a CPU to itself), and in the runtime's poller (Yield on,
// an oversubscribed rank). Large messages cross both ways at once, so
// writes wait for socket buffer space; small ones go round a ring; and a
// receive parked on a peer fails when that peer is lost.
func TestWaitModes(t *testing.T) {
	for _, y := range []comm.Toggle{comm.Off, comm.On} {
		cfg := comm.Config{Yield: y, Spin: -1, EagerLimit: 1 << 10, ChunkSize: 256 << 10}
		t.Run(fmt.Sprintf("yield=%d", y), func(t *testing.T) {
			commtest.Run(t, 3, cfg, func(ctx context.Context, c *comm.Comm) error {
				return waitModeTraffic(ctx, c)
			})
			peerLostWhileParked(t, cfg)
		})
	}
}

func waitModeTraffic(ctx context.Context, c *comm.Comm) error {
	const big = 8 << 20
	r, n := c.Rank(), c.Size()
	if r < 2 {
		other := 1 - r
		out := bytes.Repeat([]byte{byte(r + 1)}, big)
		in := make([]byte, big)
		if _, err := comm.Sendrecv(ctx, c, out, other, 7, in, other, 7); err != nil {
			return err
		}
		if !bytes.Equal(in, bytes.Repeat([]byte{byte(other + 1)}, big)) {
			return fmt.Errorf("rank %d: large message from %d is wrong", r, other)
		}
	}
	for i := range 50 {
		msg := []int32{int32(r), int32(i)}
		got := make([]int32, 2)
		if _, err := comm.Sendrecv(ctx, c, msg, (r+1)%n, i, got, (r+n-1)%n, i); err != nil {
			return err
		}
		if got[0] != int32((r+n-1)%n) || got[1] != int32(i) {
			return fmt.Errorf("rank %d, round %d: got %v", r, i, got)
		}
	}
	return nil
}

func peerLostWhileParked(t *testing.T, cfg comm.Config) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	w, err := commtest.Start(ctx, 3, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	recv := comm.Irecv(w.Comms[0], []byte{0}, 2, 0)
	done := make(chan error, 1)
	go func() {
		_, err := recv.Wait(ctx)
		done <- err
	}()
	comm.KillLinks(w.Comms[2])
	if err := <-done; !errors.Is(err, comm.ErrPeerLost) {
		t.Errorf("receive from a lost rank: want ErrPeerLost, got %v", err)
	}
	w.Store.Set(ctx, "abort", []byte("test over"))
}
