package collectives_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// BenchmarkIallreduceOverhead compares a blocking Allreduce with an
// Iallreduce waited for at once, on np in-process ranks over loopback,
// for small vectors: the difference is what a non-blocking collective
// costs to start and complete.
func BenchmarkIallreduceOverhead(b *testing.B) {
	for _, np := range []int{1, 2, 4} {
		for _, n := range []int{1, 1024} {
			for _, mode := range []string{"blocking", "nonblocking"} {
				b.Run(fmt.Sprintf("np=%d/n=%d/%s", np, n, mode), func(b *testing.B) {
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
					defer cancel()
					w, err := commtest.Start(ctx, np, comm.Config{})
					if err != nil {
						b.Fatal(err)
					}
					defer w.Close()
					b.ReportAllocs()
					b.SetBytes(int64(8 * n))
					iters := b.N
					b.ResetTimer()
					var wg sync.WaitGroup
					errs := make([]error, np)
					for i, c := range w.Comms {
						wg.Add(1)
						go func() {
							defer wg.Done()
							buf := make([]float64, n)
							for range iters {
								if mode == "blocking" {
									errs[i] = collectives.Allreduce(ctx, c, buf, nil, collectives.Sum[float64](), collectives.InPlace())
								} else {
									_, errs[i] = collectives.Iallreduce(ctx, c, buf, nil, collectives.Sum[float64](), collectives.InPlace()).Wait(ctx)
								}
								if errs[i] != nil {
									return
								}
							}
						}()
					}
					wg.Wait()
					for _, err := range errs {
						if err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}
