package collectives_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// span2 is a non-commutative value: the ranks it covers, in order, and
// their names joined.
type span2 struct {
	Ranks []int
	Names string
	Extra any
}

func foldSpan(a, b span2) span2 {
	return span2{Ranks: append(append([]int(nil), a.Ranks...), b.Ranks...), Names: a.Names + "," + b.Names}
}

// TestReduceValue: rank order for a non-commutative fold, every root, on
// every rank count; AllreduceValue gives every rank the same value.
func TestReduceValue(t *testing.T) {
	for _, np := range nps(t) {
		t.Run(fmt.Sprintf("np=%d", np), func(t *testing.T) {
			commtest.Run(t, np, testCfg, func(ctx context.Context, c *comm.Comm) error {
				p, r := c.Size(), c.Rank()
				var names []string
				var ranks []int
				for i := range p {
					names = append(names, fmt.Sprintf("r%d-%s", i, strings.Repeat("x", i*300)))
					ranks = append(ranks, i)
				}
				want := strings.Join(names, ",")
				mine := span2{Ranks: []int{r}, Names: names[r]}
				for _, root := range []int{0, p - 1, p / 2} {
					var got span2
					if err := collectives.ReduceValue(ctx, c, &got, mine, foldSpan, root); err != nil {
						return fmt.Errorf("root %d: %w", root, err)
					}
					if r == root && (got.Names != want || fmt.Sprint(got.Ranks) != fmt.Sprint(ranks)) {
						return fmt.Errorf("root %d: ranks %v, names %.60q", root, got.Ranks, got.Names)
					}
				}
				var all span2
				if err := collectives.AllreduceValue(ctx, c, &all, mine, foldSpan); err != nil {
					return err
				}
				if all.Names != want || fmt.Sprint(all.Ranks) != fmt.Sprint(ranks) {
					return fmt.Errorf("allreduce: ranks %v", all.Ranks)
				}
				sum := 0
				if err := collectives.AllreduceValue(ctx, c, &sum, r+1, func(a, b int) int { return a + b }); err != nil {
					return err
				}
				if sum != p*(p+1)/2 {
					return fmt.Errorf("sum %d", sum)
				}
				return nil
			})
		})
	}
}

// TestReduceValueEncodeFailure: a value that cannot be encoded fails the
// call on root (ReduceValue) or on every rank (AllreduceValue); every rank
// completes, and the next collective works.
func TestReduceValueEncodeFailure(t *testing.T) {
	for _, np := range []int{2, 3, 5, 8} {
		t.Run(fmt.Sprintf("np=%d", np), func(t *testing.T) {
			commtest.Run(t, np, testCfg, func(ctx context.Context, c *comm.Comm) error {
				mine := span2{Ranks: []int{c.Rank()}}
				if c.Rank() == c.Size()-1 {
					mine.Extra = make(chan int) // msgpack cannot encode it
				}
				var got span2
				err := collectives.ReduceValue(ctx, c, &got, mine, foldSpan, 0)
				if c.Rank() == 0 && err == nil {
					return errors.New("root: no error for a value that cannot be encoded")
				}
				if err := collectives.AllreduceValue(ctx, c, &got, mine, foldSpan); err == nil {
					return errors.New("AllreduceValue: no error")
				}
				if err := collectives.ReduceValue(ctx, c, &got, mine, foldSpan, 99); !errors.Is(err, comm.ErrInvalidRank) {
					return fmt.Errorf("bad root: %v", err)
				}
				return collectives.Barrier(ctx, c)
			})
		})
	}
}

// ExampleAllreduceValue joins each rank's word in rank order on 3 ranks.
func ExampleAllreduceValue() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w, err := commtest.Start(ctx, 3, comm.Config{})
	if err != nil {
		panic(err)
	}
	defer w.Close()
	var wg sync.WaitGroup
	for _, c := range w.Comms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			words := []string{"ranks", "in", "order"}
			var s string
			join := func(a, b string) string { return a + " " + b }
			if err := collectives.AllreduceValue(ctx, c, &s, words[c.Rank()], join); err != nil {
				panic(err)
			}
			if c.Rank() == 2 {
				fmt.Println(s)
			}
		}()
	}
	wg.Wait()
	// Output: ranks in order
}
