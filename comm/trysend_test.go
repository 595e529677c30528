package comm_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// TestTrySend checks when TrySend sends at once and when it leaves the
// message to Isend: it sends a small message, not a large one nor one to
// the calling rank, and stops when the eager window is full. Messages it
// sent and one that then went by rendezvous arrive whole and in order.
func TestTrySend(t *testing.T) {
	const (
		window = 4 << 10
		size   = 500
	)
	cfg := comm.Config{EagerLimit: 1 << 10, ChunkSize: 3000, EagerWindow: window}
	commtest.Run(t, 2, cfg, func(ctx context.Context, c *comm.Comm) error {
		const (
			tagFirst = iota + 1
			tagFill
			tagCount
		)
		if c.Rank() == 1 {
			if done, err := comm.TrySend(c, []byte("first"), 0, tagFirst); !done || err != nil {
				return fmt.Errorf("small message: done %v, err %v", done, err)
			}
			if done, err := comm.TrySend(c, make([]byte, 2<<10), 0, tagFill); done || err != nil {
				return fmt.Errorf("message over the eager limit: done %v, err %v", done, err)
			}
			if done, err := comm.TrySend(c, []byte("me"), 1, tagFill); done || err != nil {
				return fmt.Errorf("message to itself: done %v, err %v", done, err)
			}
			// Fill the window: rank 0 receives nothing before tagCount.
			n := 0
			for ; ; n++ {
				buf := make([]byte, size)
				binary.LittleEndian.PutUint32(buf, uint32(n))
				done, err := comm.TrySend(c, buf, 0, tagFill)
				if err != nil {
					return err
				}
				if !done {
					break
				}
				if n > window/size {
					return fmt.Errorf("%d messages of %d bytes sent at once, window %d", n+1, size, window)
				}
			}
			if n == 0 {
				return fmt.Errorf("the window took no %d-byte message", size)
			}
			// The one that did not fit goes by rendezvous, after the rest.
			buf := make([]byte, size)
			binary.LittleEndian.PutUint32(buf, uint32(n))
			last := comm.Isend(c, buf, 0, tagFill)
			if err := comm.Send(ctx, c, []int32{int32(n + 1)}, 0, tagCount); err != nil {
				return err
			}
			_, err := last.Wait(ctx)
			return err
		}
		buf := make([]byte, size)
		st, err := comm.Recv(ctx, c, buf, 1, tagFirst)
		if err != nil {
			return err
		}
		if got := string(buf[:st.Bytes]); got != "first" {
			return fmt.Errorf("first message %q", got)
		}
		var count [1]int32
		if _, err := comm.Recv(ctx, c, count[:], 1, tagCount); err != nil {
			return err
		}
		for i := range int(count[0]) {
			st, err := comm.Recv(ctx, c, buf, 1, tagFill)
			if err != nil {
				return err
			}
			if st.Bytes != size || binary.LittleEndian.Uint32(buf) != uint32(i) {
				return fmt.Errorf("message %d: %d bytes, number %d", i, st.Bytes, binary.LittleEndian.Uint32(buf))
			}
		}
		return nil
	})
}
