package comm_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// TestReaderNeverWaitsOnWrite loads both directions of a link with
// rendezvous traffic over small socket buffers: each rank pre-posts every
// receive and pipelines its sends to the other, a few in flight. A link's
// reader that answered an RTS by writing the CTS itself would queue behind
// its own rank's data writer, which waits for the peer to read, while the
// peer's reader waits the same way: neither side would read again. Over
// shared memory the rings are small (16 KiB) and the large payloads go
// through them in chunks (CMA off), so a control frame regularly finds
// its ring full.
func TestReaderNeverWaitsOnWrite(t *testing.T) {
	for _, tr := range commtest.Transports {
		t.Run(tr, func(t *testing.T) {
			cfg := comm.Config{Transport: tr, TCP: comm.TCPConfig{SocketBuffer: 32 << 10}, ChunkSize: 256 << 10,
				Shm: comm.ShmConfig{RingSize: 16 << 10, CMA: comm.Off}}
			readerNeverWaitsOnWrite(t, cfg)
		})
	}
}

func readerNeverWaitsOnWrite(t *testing.T, cfg comm.Config) {
	const (
		count    = 40
		size     = 1 << 20
		inFlight = 3
	)
	commtest.Run(t, 2, cfg, func(ctx context.Context, c *comm.Comm) error {
		ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		peer := 1 - c.Rank()
		recvs := make([]*comm.Request, count)
		bufs := make([][]byte, count)
		for i := range recvs {
			bufs[i] = make([]byte, size)
			recvs[i] = comm.Irecv(c, bufs[i], peer, i)
		}
		var sends []*comm.Request
		for i := range count {
			if len(sends) == inFlight {
				if _, err := sends[0].Wait(ctx); err != nil {
					return fmt.Errorf("send %d: %w", i-inFlight, err)
				}
				sends = sends[1:]
			}
			buf := make([]byte, size)
			buf[0], buf[size-1] = byte(i), byte(c.Rank())
			sends = append(sends, comm.Isend(c, buf, peer, i))
		}
		if err := comm.WaitAll(ctx, sends...); err != nil {
			return err
		}
		for i, r := range recvs {
			if _, err := r.Wait(ctx); err != nil {
				return fmt.Errorf("receive %d: %w", i, err)
			}
			if bufs[i][0] != byte(i) || bufs[i][size-1] != byte(peer) {
				return fmt.Errorf("receive %d: wrong data", i)
			}
		}
		return nil
	})
}
