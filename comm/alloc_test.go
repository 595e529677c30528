package comm_test

import (
	"context"
	"testing"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// BenchmarkPingPong8 measures a round trip of 8-byte messages between two
// in-process ranks over loopback TCP, with its allocations.
func BenchmarkPingPong8(b *testing.B) {
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
		buf := make([]byte, 8)
		for range n {
			comm.Recv(ctx, c1, buf, 0, 1)
			comm.Send(ctx, c1, buf, 0, 1)
		}
		close(done)
	}()
	buf := make([]byte, 8)
	b.ReportAllocs()
	b.ResetTimer()
	for range n {
		comm.Send(ctx, c0, buf, 1, 1)
		comm.Recv(ctx, c0, buf, 1, 1)
	}
	<-done
}
