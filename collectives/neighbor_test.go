package collectives_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// nbEdge says, for one receive slot of a rank, who sends into it and from
// which of its send slots (-1: ProcNull, nothing).
type nbEdge struct{ from, slot int }

// nbTopo is a test topology: each rank's lists and, per receive slot, the
// matching send slot of the sender.
type nbTopo struct {
	name  string
	make  func(ctx context.Context, c *comm.Comm) (collectives.Topology, error)
	edges func(p, r int) []nbEdge // receive slots of rank r
	ndest func(p, r int) int
}

// cartEdges: in a Cart, source slot k of a rank receives from the
// neighbour's slot k^1.
func cartTopo(dimsOf func(p int) []int, periodic bool) nbTopo {
	return nbTopo{
		name: fmt.Sprintf("cart%d-periodic=%v", len(dimsOf(4)), periodic),
		make: func(ctx context.Context, c *comm.Comm) (collectives.Topology, error) {
			dims := dimsOf(c.Size())
			per := make([]bool, len(dims))
			for i := range per {
				per[i] = periodic
			}
			return collectives.NewCart(ctx, c, dims, per)
		},
		edges: func(p, r int) []nbEdge {
			dims := dimsOf(p)
			co := make([]int, len(dims))
			for i, x := len(dims)-1, r; i >= 0; i-- {
				co[i], x = x%dims[i], x/dims[i]
			}
			var out []nbEdge
			for d := range dims {
				for k, disp := range []int{-1, 1} {
					c2 := slices.Clone(co)
					c2[d] += disp
					if c2[d] < 0 || c2[d] >= dims[d] {
						if !periodic {
							out = append(out, nbEdge{-1, -1})
							continue
						}
						c2[d] = (c2[d] + dims[d]) % dims[d]
					}
					n := 0
					for i := range dims {
						n = n*dims[i] + c2[i]
					}
					out = append(out, nbEdge{n, (2*d + k) ^ 1})
				}
			}
			return out
		},
		ndest: func(p, r int) int { return 2 * len(dimsOf(p)) },
	}
}

// graphDests is an irregular graph with repeated edges and self-edges.
func graphDests(p, r int) []int {
	d := []int{(r + 1) % p, (r*7 + 3) % p, (r + 1) % p}
	if r%3 == 0 {
		d = append(d, r)
	}
	if r%4 == 1 {
		d = d[:1]
	}
	return d
}

// graphEdges lists rank r's sources in rank order, each edge of a sender
// in its list order, so that the k-th edge a→r matches the k-th a in r's
// sources.
func graphEdges(p, r int) []nbEdge {
	var out []nbEdge
	for a := range p {
		for i, d := range graphDests(p, a) {
			if d == r {
				out = append(out, nbEdge{a, i})
			}
		}
	}
	return out
}

func nbTopos() []nbTopo {
	dims2 := func(p int) []int { d, _ := collectives.DimsCreate(p, []int{0, 0}); return d }
	dims1 := func(p int) []int { return []int{p} }
	dims3 := func(p int) []int { d, _ := collectives.DimsCreate(p, []int{0, 0, 0}); return d }
	graph := nbTopo{
		name: "graph",
		make: func(ctx context.Context, c *comm.Comm) (collectives.Topology, error) {
			var src []int
			for _, e := range graphEdges(c.Size(), c.Rank()) {
				src = append(src, e.from)
			}
			return collectives.DistGraphCreateAdjacent(c, src, graphDests(c.Size(), c.Rank()))
		},
		edges: graphEdges,
		ndest: func(p, r int) int { return len(graphDests(p, r)) },
	}
	return []nbTopo{
		cartTopo(dims2, false), cartTopo(dims2, true), cartTopo(dims1, true), cartTopo(dims1, false),
		cartTopo(dims3, true), graph,
	}
}

// nbVal is the element i of the block rank a sends from slot k.
func nbVal(a, k, i int) int64 { return int64(a*100000 + k*1000 + i) }

// nbCount is the length of the block rank a sends from slot k (v calls).
func nbCount(a, k, n int) int { return (a+k)%3 + n }

// TestNeighborCollectives checks all four neighbourhood collectives on
// Cartesian grids (1-3 dimensions, periodic or not) and a graph with
// repeated and self edges, against each rank's expected blocks; ProcNull
// slots keep their sentinel.
func TestNeighborCollectives(t *testing.T) {
	const sentinel = -7
	for _, np := range nps(t) {
		t.Run(fmt.Sprintf("np=%d", np), func(t *testing.T) {
			commtest.Run(t, np, testCfg, func(ctx context.Context, c *comm.Comm) error {
				p, r := c.Size(), c.Rank()
				var ck checker
				for _, tp := range nbTopos() {
					topo, err := tp.make(ctx, c)
					if err != nil {
						return err
					}
					edges, nd := tp.edges(p, r), tp.ndest(p, r)
					for _, n := range []int{0, 3, 300} {
						fill := func(k int) []int64 {
							out := make([]int64, k)
							for i := range out {
								out[i] = sentinel
							}
							return out
						}
						// Allgather: every destination gets the same block.
						src := make([]int64, n)
						for i := range src {
							src[i] = nbVal(r, 0, i)
						}
						dst := fill(n * len(edges))
						if err := collectives.NeighborAllgather(ctx, topo, dst, src); err != nil {
							return fmt.Errorf("%s NeighborAllgather n=%d: %w", tp.name, n, err)
						}
						want := fill(n * len(edges))
						for k, e := range edges {
							for i := 0; i < n && e.from >= 0; i++ {
								want[k*n+i] = nbVal(e.from, 0, i)
							}
						}
						ck.add(compare(dst, want, 0), "%s NeighborAllgather n=%d", tp.name, n)

						// Alltoall: block k to destination k.
						src = make([]int64, n*nd)
						for k := range nd {
							for i := range n {
								src[k*n+i] = nbVal(r, k, i)
							}
						}
						dst = fill(n * len(edges))
						if err := collectives.NeighborAlltoall(ctx, topo, dst, src); err != nil {
							return fmt.Errorf("%s NeighborAlltoall n=%d: %w", tp.name, n, err)
						}
						want = fill(n * len(edges))
						for k, e := range edges {
							for i := 0; i < n && e.from >= 0; i++ {
								want[k*n+i] = nbVal(e.from, e.slot, i)
							}
						}
						ck.add(compare(dst, want, 0), "%s NeighborAlltoall n=%d", tp.name, n)

						// Alltoallv: uneven blocks, receive blocks in reverse order.
						scounts := make([]int, nd)
						for k := range scounts {
							scounts[k] = nbCount(r, k, n)
						}
						src = make([]int64, 0)
						for k, cnt := range scounts {
							for i := range cnt {
								src = append(src, nbVal(r, k, i))
							}
						}
						rcounts := make([]int, len(edges))
						for k, e := range edges {
							if e.from >= 0 {
								rcounts[k] = nbCount(e.from, e.slot, n)
							} else {
								rcounts[k] = 2
							}
						}
						rdispls := make([]int, len(edges))
						total := 0
						for k := len(edges) - 1; k >= 0; k-- {
							rdispls[k] = total
							total += rcounts[k]
						}
						dst, want = fill(total), fill(total)
						for k, e := range edges {
							for i := 0; i < rcounts[k] && e.from >= 0; i++ {
								want[rdispls[k]+i] = nbVal(e.from, e.slot, i)
							}
						}
						if err := collectives.NeighborAlltoallv(ctx, topo, dst, rcounts, rdispls, src, scounts, nil); err != nil {
							return fmt.Errorf("%s NeighborAlltoallv n=%d: %w", tp.name, n, err)
						}
						ck.add(compare(dst, want, 0), "%s NeighborAlltoallv n=%d", tp.name, n)

						// Allgatherv: each rank sends nbCount(r, 0, n) elements.
						src = src[:0]
						for i := range nbCount(r, 0, n) {
							src = append(src, nbVal(r, 0, i))
						}
						for k, e := range edges {
							if e.from >= 0 {
								rcounts[k] = nbCount(e.from, 0, n)
							}
						}
						total = 0
						for k := len(edges) - 1; k >= 0; k-- {
							rdispls[k] = total
							total += rcounts[k]
						}
						dst, want = fill(total), fill(total)
						for k, e := range edges {
							for i := 0; i < rcounts[k] && e.from >= 0; i++ {
								want[rdispls[k]+i] = nbVal(e.from, 0, i)
							}
						}
						if err := collectives.NeighborAllgatherv(ctx, topo, dst, rcounts, rdispls, src); err != nil {
							return fmt.Errorf("%s NeighborAllgatherv n=%d: %w", tp.name, n, err)
						}
						ck.add(compare(dst, want, 0), "%s NeighborAllgatherv n=%d", tp.name, n)
					}
				}
				return ck.err()
			})
		})
	}
}

// TestNeighborBadArguments: wrong lengths and ranks are error values.
func TestNeighborBadArguments(t *testing.T) {
	commtest.Run(t, 2, testCfg, func(ctx context.Context, c *comm.Comm) error {
		if _, err := collectives.DistGraphCreateAdjacent(c, []int{2}, nil); !errors.Is(err, comm.ErrInvalidRank) {
			return fmt.Errorf("bad source: %v", err)
		}
		g, err := collectives.NewCart(ctx, c, []int{2}, []bool{true})
		if err != nil {
			return err
		}
		for name, err := range map[string]error{
			"allgather dst": collectives.NeighborAllgather(ctx, g, make([]int, 3), []int{1}),
			"alltoall src":  collectives.NeighborAlltoall(ctx, g, make([]int, 2), []int{1, 2, 3}),
			"alltoallv cnt": collectives.NeighborAlltoallv(ctx, g, make([]int, 2), []int{1}, nil, []int{1, 2}, []int{1, 1}, nil),
			"allgatherv at": collectives.NeighborAllgatherv(ctx, g, make([]int, 2), []int{1, 1}, []int{0, 5}, []int{1}),
		} {
			if !errors.Is(err, comm.ErrInvalidArgument) {
				return fmt.Errorf("%s: %v, want ErrInvalidArgument", name, err)
			}
		}
		return nil
	})
}

// ExampleNeighborAlltoall exchanges one value with each neighbour on a
// periodic ring of 4 ranks: block 0 goes to the rank on the left, block 1
// to the one on the right.
func ExampleNeighborAlltoall() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w, err := commtest.Start(ctx, 4, comm.Config{})
	if err != nil {
		panic(err)
	}
	defer w.Close()
	var mu sync.Mutex
	got := make([][]int, 4)
	var wg sync.WaitGroup
	for _, c := range w.Comms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ring, err := collectives.NewCart(ctx, c, []int{4}, []bool{true})
			if err != nil {
				panic(err)
			}
			r := c.Rank()
			dst := make([]int, 2)
			if err := collectives.NeighborAlltoall(ctx, ring, dst, []int{10*r + 1, 10*r + 2}); err != nil {
				panic(err)
			}
			mu.Lock()
			got[r] = dst
			mu.Unlock()
		}()
	}
	wg.Wait()
	fmt.Println(got)
	// Output: [[32 11] [2 21] [12 31] [22 1]]
}

// ExampleDistGraphCreateAdjacent: on 3 ranks, each rank sends to the next
// two; NeighborAllgather collects what its sources sent.
func ExampleDistGraphCreateAdjacent() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w, err := commtest.Start(ctx, 3, comm.Config{})
	if err != nil {
		panic(err)
	}
	defer w.Close()
	got := make([][]string, 3)
	var wg sync.WaitGroup
	for _, c := range w.Comms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, p := c.Rank(), c.Size()
			g, err := collectives.DistGraphCreateAdjacent(c,
				[]int{(r + p - 2) % p, (r + p - 1) % p}, []int{(r + 1) % p, (r + 2) % p})
			if err != nil {
				panic(err)
			}
			dst := make([]byte, 2)
			if err := collectives.NeighborAllgather(ctx, g, dst, []byte{'a' + byte(r)}); err != nil {
				panic(err)
			}
			got[r] = []string{string(dst)}
		}()
	}
	wg.Wait()
	fmt.Println(got)
	// Output: [[bc] [ca] [ab]]
}
