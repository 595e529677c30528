package collectives_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// sparsePlan is rank r's destinations in round k: 0 to 4 of them, with
// repeats and the rank itself possible; every rank computes every plan.
func sparsePlan(p, r, k int) []int {
	rng := rand.New(rand.NewPCG(uint64(r), uint64(k)))
	d := make([]int, rng.IntN(5))
	for i := range d {
		d[i] = rng.IntN(p)
	}
	return d
}

func sparsePayload(r, k, i int) []int32 {
	out := make([]int32, (r*7+i*3+k)%5*300) // 0 to 1200 elements: eager and rendezvous
	for j := range out {
		out[j] = int32(r*1000000 + i*1000 + j)
	}
	return out
}

// TestSparseExchange: over several rounds, every rank receives exactly the
// messages sent to it, by source and in sending order, np 1-16, with the
// selector's choice and each algorithm forced.
func TestSparseExchange(t *testing.T) {
	for _, alg := range append([]string{"auto"}, collectives.Algorithms("sparseexchange")...) {
		for _, np := range nps(t) {
			t.Run(fmt.Sprintf("%s/np=%d", alg, np), func(t *testing.T) {
				testSparseExchange(t, np, alg)
			})
		}
	}
}

func testSparseExchange(t *testing.T, np int, alg string) {
	var opts []collectives.Option
	if alg != "auto" {
		opts = append(opts, collectives.WithAlgorithm(alg))
	}
	commtest.Run(t, np, testCfg, func(ctx context.Context, c *comm.Comm) error {
		p, r := c.Size(), c.Rank()
		for k := range 4 {
			dests := sparsePlan(p, r, k)
			data := make([][]int32, len(dests))
			for i := range data {
				data[i] = sparsePayload(r, k, i)
			}
			got, err := collectives.SparseExchange(ctx, c, dests, data, opts...)
			if err != nil {
				return fmt.Errorf("round %d: %w", k, err)
			}
			var want []collectives.SparseMessage[int32]
			for s := range p {
				for i, d := range sparsePlan(p, s, k) {
					if d == r {
						want = append(want, collectives.SparseMessage[int32]{Source: s, Data: sparsePayload(s, k, i)})
					}
				}
			}
			if len(got) != len(want) {
				return fmt.Errorf("round %d: %d messages, want %d", k, len(got), len(want))
			}
			for i := range want {
				if got[i].Source != want[i].Source {
					return fmt.Errorf("round %d message %d from %d, want %d", k, i, got[i].Source, want[i].Source)
				}
				if err := compare(got[i].Data, want[i].Data, 0); err != nil {
					return fmt.Errorf("round %d message %d: %w", k, i, err)
				}
			}
		}
		// Blocking collectives still line up afterwards.
		return collectives.Barrier(ctx, c)
	})
}

func TestSparseExchangeBadArguments(t *testing.T) {
	commtest.Run(t, 2, testCfg, func(ctx context.Context, c *comm.Comm) error {
		if _, err := collectives.SparseExchange[int](ctx, c, []int{1}, nil); !errors.Is(err, comm.ErrInvalidArgument) {
			return fmt.Errorf("lengths: %v", err)
		}
		if _, err := collectives.SparseExchange(ctx, c, []int{2}, [][]int{{1}}); !errors.Is(err, comm.ErrInvalidRank) {
			return fmt.Errorf("rank: %v", err)
		}
		if _, err := collectives.SparseExchange(ctx, c, []int{0}, [][]int{{1}}, collectives.WithAlgorithm("no-such")); !errors.Is(err, comm.ErrInvalidArgument) {
			return fmt.Errorf("algorithm: %v", err)
		}
		return nil
	})
}

// ExampleSparseExchange: on 4 ranks, rank r sends its number to rank
// (r*3+1)%4 only; each learns who sent to it.
func ExampleSparseExchange() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w, err := commtest.Start(ctx, 4, comm.Config{})
	if err != nil {
		panic(err)
	}
	defer w.Close()
	from := make([]string, 4)
	var wg sync.WaitGroup
	for _, c := range w.Comms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := c.Rank()
			got, err := collectives.SparseExchange(ctx, c, []int{(r*3 + 1) % 4}, [][]int{{r}})
			if err != nil {
				panic(err)
			}
			from[r] = fmt.Sprint(got)
		}()
	}
	wg.Wait()
	fmt.Println(from)
	// Output: [[{1 [1]}] [{0 [0]}] [{3 [3]}] [{2 [2]}]]
}
