package comm_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// BenchmarkPingPongRendezvous is a ping-pong of messages above the eager
// limit between two in-process ranks: each message is RTS, CTS, data.
func BenchmarkPingPongRendezvous(b *testing.B) {
	for _, size := range []int{128 << 10, 1 << 20} {
		b.Run(fmt.Sprintf("size=%dKiB", size>>10), func(b *testing.B) {
			ctx := context.Background()
			w, err := commtest.Start(ctx, 2, comm.Config{})
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			c0, c1 := w.Comms[0], w.Comms[1]
			done := make(chan struct{})
			n := b.N
			go func() {
				buf := make([]byte, size)
				for range n {
					comm.Recv(ctx, c1, buf, 0, 1)
					comm.Send(ctx, c1, buf, 0, 1)
				}
				close(done)
			}()
			buf := make([]byte, size)
			b.SetBytes(int64(2 * size))
			b.ResetTimer()
			for range n {
				comm.Send(ctx, c0, buf, 1, 1)
				comm.Recv(ctx, c0, buf, 1, 1)
			}
			<-done
		})
	}
}
