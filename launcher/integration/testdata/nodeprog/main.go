// Command nodeprog is the rank program of the node-aware integration
// tests: it reports how the job's ranks sit on hosts (comm.Comm.Nodes and
// SplitType), then runs Allreduce, Bcast and Barrier with the selector's
// choice and with the hierarchical algorithm forced, over several sizes,
// and checks every result (an integer Sum, a non-commutative op that shows
// the combining order, Bcast from several roots). Each rank prints one
// line "rank R/S on HOST hosts H maxlocal M node N/L blocked B: ok", or a
// FAIL line and exits 1.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
)

func main() {
	c, err := comm.Init()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	host, _ := os.Hostname()
	line, err := run(ctx, c)
	if err != nil {
		fmt.Printf("rank %d on %s: FAIL: %v\n", c.Rank(), host, err)
		os.Exit(1)
	}
	if err := c.Close(); err != nil {
		fmt.Printf("rank %d: close: %v\n", c.Rank(), err)
		os.Exit(1)
	}
	fmt.Printf("rank %d/%d on %s %s: ok\n", c.Rank(), c.Size(), host, line)
}

// affine is a non-commutative op on pairs (a, b) standing for x ↦ a·x+b,
// combined in rank order: a wrong order gives a different result.
func affine() collectives.Op[int64] {
	op := collectives.NewOp("affine", func(dst, src []int64) {
		for i := 0; i+1 < len(dst); i += 2 {
			a1, b1, a2, b2 := dst[i], dst[i+1], src[i], src[i+1]
			dst[i], dst[i+1] = a1*a2, a2*b1+b2
		}
	}, false)
	op.Width = 2
	return op
}

func run(ctx context.Context, c *comm.Comm) (string, error) {
	r, p := c.Rank(), c.Size()
	n, err := c.Nodes(ctx)
	if err != nil {
		return "", err
	}
	node, err := c.SplitType(ctx, comm.TypeShared, 0)
	if err != nil {
		return "", err
	}
	if node.Size() != n.Local.Size() || node.Rank() != n.Local.Rank() {
		return "", fmt.Errorf("SplitType gives rank %d of %d, Nodes rank %d of %d", node.Rank(), node.Size(), n.Local.Rank(), n.Local.Size())
	}
	algs := map[string][]collectives.Option{
		"auto":         nil,
		"hierarchical": {collectives.WithAlgorithm("hierarchical")},
	}
	for _, count := range []int{0, 1, 7, 1000, 100_000} {
		for name, opts := range algs {
			fopts := opts[:len(opts):len(opts)] // appends below copy
			// Sum of integers (exact in float64).
			x := make([]float64, count)
			for i := range x {
				x[i] = float64(r*1000 + i)
			}
			if err := collectives.Allreduce(ctx, c, x, nil, collectives.Sum[float64](), append(fopts, collectives.InPlace())...); err != nil {
				return "", fmt.Errorf("Allreduce %s n=%d: %w", name, count, err)
			}
			for i, v := range x {
				if want := float64(1000*p*(p-1)/2 + p*i); v != want {
					return "", fmt.Errorf("Allreduce %s n=%d: [%d] = %v, want %v", name, count, i, v, want)
				}
			}
			// Rank order: the affine maps of ranks 0..p-1 composed.
			pairs := make([]int64, 2*min(count, 100))
			for i := 0; i < len(pairs); i += 2 {
				pairs[i], pairs[i+1] = int64(r%3+1), int64(r+i)
			}
			want := make([]int64, len(pairs))
			for q := range p {
				for i := 0; i < len(pairs); i += 2 {
					a, b := int64(q%3+1), int64(q+i)
					if q == 0 {
						want[i], want[i+1] = a, b
					} else {
						want[i], want[i+1] = want[i]*a, a*want[i+1]+b
					}
				}
			}
			if err := collectives.Allreduce(ctx, c, pairs, nil, affine(), append(fopts, collectives.InPlace())...); err != nil {
				return "", fmt.Errorf("Allreduce affine %s n=%d: %w", name, count, err)
			}
			for i := range pairs {
				if pairs[i] != want[i] {
					return "", fmt.Errorf("Allreduce affine %s n=%d: [%d] = %d, want %d", name, count, i, pairs[i], want[i])
				}
			}
			for _, root := range []int{0, p - 1, p / 2} {
				b := make([]int32, count)
				if r == root {
					for i := range b {
						b[i] = int32(root*7 + i)
					}
				}
				if err := collectives.Bcast(ctx, c, b, root, opts...); err != nil {
					return "", fmt.Errorf("Bcast %s n=%d root=%d: %w", name, count, root, err)
				}
				for i, v := range b {
					if v != int32(root*7+i) {
						return "", fmt.Errorf("Bcast %s n=%d root=%d: [%d] = %d", name, count, root, i, v)
					}
				}
			}
			if err := collectives.Barrier(ctx, c, opts...); err != nil {
				return "", fmt.Errorf("Barrier %s: %w", name, err)
			}
		}
	}
	return fmt.Sprintf("hosts %d maxlocal %d node %d/%d blocked %v", n.Hosts, n.MaxLocal, node.Rank(), node.Size(), n.Blocked), nil
}
