package collectives_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// A user message on the same communicator never matches collective
// traffic, and collectives on two communicators can run at once.
func TestConcurrentAndIsolated(t *testing.T) {
	for _, n := range []int{3, 4} {
		t.Run(fmt.Sprintf("np=%d", n), func(t *testing.T) {
			commtest.Run(t, n, testCfg, func(ctx context.Context, c *comm.Comm) error {
				p, r := c.Size(), c.Rank()
				d := c.Dup()
				// A wildcard receive posted before the collectives.
				got := []int{0}
				wild := comm.Irecv(c, got, comm.AnySource, comm.AnyTag)
				var wg sync.WaitGroup
				errs := make([]error, 2)
				wg.Add(2)
				go func() {
					defer wg.Done()
					for i := range 20 {
						dst := make([]float64, 3000)
						src := make([]float64, 3000)
						for j := range src {
							src[j] = float64(r + i)
						}
						if err := collectives.Allreduce(ctx, c, dst, src, collectives.Sum[float64](), collectives.WithSegmentSize(1024)); err != nil {
							errs[0] = err
							return
						}
						if want := float64(p*(p-1)/2 + p*i); dst[2999] != want {
							errs[0] = fmt.Errorf("allreduce %d: %v, want %v", i, dst[2999], want)
							return
						}
					}
				}()
				go func() {
					defer wg.Done()
					for i := range 20 {
						buf := make([]int32, 2000)
						if r == i%p {
							buf[1999] = int32(i)
						}
						if err := collectives.Bcast(ctx, d, buf, i%p); err != nil {
							errs[1] = err
							return
						}
						if buf[1999] != int32(i) {
							errs[1] = fmt.Errorf("bcast %d: %d", i, buf[1999])
							return
						}
					}
				}()
				wg.Wait()
				if err := errors.Join(errs...); err != nil {
					return err
				}
				if ok, st, err := wild.Test(); ok {
					return fmt.Errorf("a collective's message matched a user wildcard receive: %+v %v %v", st, err, got)
				}
				// No rank sends its user message before every rank checked.
				if err := collectives.Barrier(ctx, c); err != nil {
					return err
				}
				if err := comm.Send(ctx, c, []int{100 + r}, (r+1)%p, 5); err != nil {
					return err
				}
				if _, err := wild.Wait(ctx); err != nil {
					return err
				}
				if got[0] != 100+(r+p-1)%p {
					return fmt.Errorf("user message %d", got[0])
				}
				return nil
			})
		})
	}
}
