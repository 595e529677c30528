package comm_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// TestEagerWindow floods rank 0 with small messages it has not asked for
// yet: what it buffers per sender stays within the eager window (the rest
// arrives by rendezvous), and every message still arrives, whole and in
// order. A second round checks that credits came back and the window is
// usable again.
func TestEagerWindow(t *testing.T) {
	const (
		window = 8 << 10
		per    = 400
	)
	cfg := comm.Config{EagerLimit: 1 << 10, ChunkSize: 3000, EagerWindow: window}
	for _, n := range []int{2, 3, 5} {
		t.Run(fmt.Sprintf("np=%d", n), func(t *testing.T) {
			commtest.Run(t, n, cfg, func(ctx context.Context, c *comm.Comm) error {
				for round := range 2 {
					if err := windowRound(ctx, c, per, window, round); err != nil {
						return fmt.Errorf("round %d: %w", round, err)
					}
				}
				return nil
			})
		})
	}
}

func windowRound(ctx context.Context, c *comm.Comm, per, window, round int) error {
	const goTag = 99
	if c.Rank() != 0 {
		var reqs []*comm.Request
		for i := range per {
			buf := make([]byte, (i*37)%1000)
			for j := range buf {
				buf[j] = byte(i + j + c.Rank())
			}
			reqs = append(reqs, comm.Isend(c, buf, 0, i%3))
		}
		// Tell rank 0 everything is under way, then wait for the lot.
		if err := comm.Send(ctx, c, []int32{int32(round)}, 0, goTag); err != nil {
			return err
		}
		return comm.WaitAll(ctx, reqs...)
	}
	for src := 1; src < c.Size(); src++ {
		var r [1]int32
		if _, err := comm.Recv(ctx, c, r[:], src, goTag); err != nil {
			return err
		}
		if q := comm.QueuedEagerBytes(c, src); q > window {
			return fmt.Errorf("rank 0 buffers %d bytes of eager messages from %d, window %d", q, src, window)
		}
	}
	next := make([]int, c.Size())
	buf := make([]byte, 1000)
	for k := range per * (c.Size() - 1) {
		if k%50 == 0 {
			if n, q := comm.UnexpectedCount(c); n != q {
				return fmt.Errorf("%d unexpected messages counted, %d queued", n, q)
			}
		}
		st, err := comm.Recv(ctx, c, buf, comm.AnySource, comm.AnyTag)
		if err != nil {
			return err
		}
		i := next[st.Source]
		next[st.Source]++
		if st.Tag != i%3 || st.Bytes != (i*37)%1000 {
			return fmt.Errorf("message %d from %d: status %+v", i, st.Source, st)
		}
		for j := range st.Bytes {
			if buf[j] != byte(i+j+st.Source) {
				return fmt.Errorf("message %d from %d: byte %d is %d", i, st.Source, j, buf[j])
			}
		}
	}
	return nil
}
