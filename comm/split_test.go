package comm_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// TestSplitExtremeKeys orders by keys at the ends of int's range, where a
// comparison by subtraction overflows.
func TestSplitExtremeKeys(t *testing.T) {
	keys := []int{math.MaxInt, math.MinInt, 0, 5}
	want := []int{1, 2, 3, 0} // parent ranks in the new order
	commtest.Run(t, 4, testCfg, func(ctx context.Context, c *comm.Comm) error {
		sub, err := c.Split(ctx, 0, keys[c.Rank()])
		if err != nil {
			return err
		}
		got := make([]int, sub.Size())
		for i := range got {
			got[i] = sub.WorldRank(i)
		}
		if !slices.Equal(got, want) {
			return fmt.Errorf("new order %v, want %v", got, want)
		}
		return nil
	})
}
