package parallel_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
	"github.com/gorun-hpc/gorun/kernels"
	"github.com/gorun-hpc/gorun/parallel"
)

// nps are the rank counts every test runs over.
var nps = []int{1, 2, 3, 5, 8}

func square(x int64) (int64, error) { return x*x + 2*x + 1, nil }

func TestMap(t *testing.T) {
	pool, err := kernels.NewPool(kernels.Config{Workers: 2, NoPin: true})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	for _, np := range nps {
		for _, n := range []int{0, 1, 7, 1000} {
			for _, mode := range []string{"static", "chunk3", "chunk64", "all", "root-last", "pool", "pool-chunk5"} {
				t.Run(fmt.Sprintf("np=%d/n=%d/%s", np, n, mode), func(t *testing.T) {
					commtest.Run(t, np, comm.Config{}, func(ctx context.Context, c *comm.Comm) error {
						root := 0
						var opts []parallel.MapOption
						switch mode {
						case "chunk3":
							opts = append(opts, parallel.Chunk(3))
						case "chunk64":
							opts = append(opts, parallel.Chunk(64), parallel.ToAll())
						case "all":
							opts = append(opts, parallel.ToAll())
						case "root-last":
							root = np - 1
							opts = append(opts, parallel.Root(root), parallel.Chunk(10))
						case "pool":
							opts = append(opts, parallel.WithPool(pool))
						case "pool-chunk5":
							opts = append(opts, parallel.WithPool(pool), parallel.Chunk(5))
						}
						var xs []int64
						if c.Rank() == root {
							xs = make([]int64, n)
							for i := range xs {
								xs[i] = int64(i)
							}
						}
						ys, err := parallel.Map(ctx, c, xs, square, opts...)
						if err != nil {
							return err
						}
						wantAll := mode == "all" || mode == "chunk64"
						if c.Rank() != root && !wantAll {
							if ys != nil {
								return fmt.Errorf("non-root got %d results", len(ys))
							}
							return nil
						}
						if len(ys) != n {
							return fmt.Errorf("%d results, want %d", len(ys), n)
						}
						for i, y := range ys {
							if w := int64(i+1) * int64(i+1); y != w {
								return fmt.Errorf("ys[%d] = %d, want %d", i, y, w)
							}
						}
						return nil
					})
				})
			}
		}
	}
}

func TestMapValueAndRange(t *testing.T) {
	for _, np := range nps {
		for _, chunk := range []int{0, 4} {
			t.Run(fmt.Sprintf("np=%d/chunk=%d", np, chunk), func(t *testing.T) {
				commtest.Run(t, np, comm.Config{}, func(ctx context.Context, c *comm.Comm) error {
					var words []string
					if c.Rank() == 0 {
						for i := range 37 {
							words = append(words, strconv.Itoa(i))
						}
					}
					lens, err := parallel.MapValue(ctx, c, words, func(w string) (string, error) { return w + "!", nil },
						parallel.Chunk(chunk), parallel.ToAll())
					if err != nil {
						return err
					}
					if len(lens) != 37 || lens[36] != "36!" || lens[0] != "0!" {
						return fmt.Errorf("MapValue: %v", lens)
					}
					sq, err := parallel.MapRange(ctx, c, 101, func(i int) (float64, error) { return float64(i) / 2, nil },
						parallel.Chunk(chunk))
					if err != nil {
						return err
					}
					if c.Rank() == 0 {
						for i, v := range sq {
							if v != float64(i)/2 {
								return fmt.Errorf("MapRange[%d] = %v", i, v)
							}
						}
						if len(sq) != 101 {
							return fmt.Errorf("MapRange: %d results", len(sq))
						}
					}
					return nil
				})
			})
		}
	}
}

var errOdd = errors.New("odd element")

// A failing element ends the map on every rank with the same
// *ElementError: the smallest failing index.
func TestMapErrorEndsEverywhere(t *testing.T) {
	for _, np := range nps {
		for _, chunk := range []int{0, 2, 3} {
			for _, call := range []string{"MapRange", "Map", "MapValue"} {
				t.Run(fmt.Sprintf("np=%d/chunk=%d/%s", np, chunk, call), func(t *testing.T) {
					commtest.Run(t, np, comm.Config{}, func(ctx context.Context, c *comm.Comm) error {
						fail := func(i int) (int32, error) {
							if i == 17 || i == 40 {
								return 0, fmt.Errorf("element %d: %w", i, errOdd)
							}
							return int32(i), nil
						}
						var xs []int
						if c.Rank() == 0 {
							xs = make([]int, 50)
							for i := range xs {
								xs[i] = i
							}
						}
						var err error
						switch call {
						case "MapRange":
							_, err = parallel.MapRange(ctx, c, 50, fail, parallel.Chunk(chunk))
						case "Map":
							_, err = parallel.Map(ctx, c, xs, fail, parallel.Chunk(chunk))
						case "MapValue":
							_, err = parallel.MapValue(ctx, c, xs, fail, parallel.Chunk(chunk))
						}
						var ee *parallel.ElementError
						if !errors.As(err, &ee) {
							return fmt.Errorf("want *ElementError, got %v", err)
						}
						if ee.Index != 17 {
							return fmt.Errorf("error names element %d, want 17: %v", ee.Index, err)
						}
						if ee.Rank == c.Rank() && !errors.Is(err, errOdd) {
							return fmt.Errorf("the failing rank lost the cause: %v", err)
						}
						// The communicator is still usable: the map ended cleanly.
						ys, err := parallel.MapRange(ctx, c, 5, func(i int) (int32, error) { return int32(i), nil }, parallel.ToAll())
						if err != nil || len(ys) != 5 {
							return fmt.Errorf("map after a failed map: %v %v", ys, err)
						}
						return nil
					})
				})
			}
		}
	}
}

func TestMapBadRoot(t *testing.T) {
	commtest.Run(t, 3, comm.Config{}, func(ctx context.Context, c *comm.Comm) error {
		_, err := parallel.Map(ctx, c, []int64{1}, square, parallel.Root(3))
		if !errors.Is(err, comm.ErrInvalidRank) {
			return fmt.Errorf("Root(3) on 3 ranks: %v", err)
		}
		_, err = parallel.MapRange(ctx, c, -1, func(int) (int8, error) { return 0, nil })
		if !errors.Is(err, comm.ErrInvalidArgument) {
			return fmt.Errorf("MapRange(-1): %v", err)
		}
		return nil
	})
}

// Chunks larger than one message piece (32 KiB of raw elements) travel
// as several messages, a short last chunk with empty trailing pieces.
func TestMapPieces(t *testing.T) {
	for _, np := range nps {
		for _, c := range []struct{ n, chunk int }{{9000, 4097}, {20001, 9000}, {4100, 8192}, {70000, 70000}} {
			t.Run(fmt.Sprintf("np=%d/n=%d/chunk=%d", np, c.n, c.chunk), func(t *testing.T) {
				commtest.Run(t, np, comm.Config{}, func(ctx context.Context, cm *comm.Comm) error {
					var xs []int64
					if cm.Rank() == 0 {
						xs = make([]int64, c.n)
						for i := range xs {
							xs[i] = int64(i)
						}
					}
					ys, err := parallel.Map(ctx, cm, xs, square, parallel.Chunk(c.chunk), parallel.ToAll())
					if err != nil {
						return err
					}
					bs, err := parallel.MapRange(ctx, cm, c.n, func(i int) (int8, error) { return int8(i), nil }, parallel.Chunk(c.chunk))
					if err != nil {
						return err
					}
					if len(ys) != c.n {
						return fmt.Errorf("%d results, want %d", len(ys), c.n)
					}
					for i, y := range ys {
						if want, _ := square(int64(i)); y != want {
							return fmt.Errorf("ys[%d] = %d, want %d", i, y, want)
						}
					}
					if cm.Rank() == 0 {
						for i, b := range bs {
							if b != int8(i) {
								return fmt.Errorf("bs[%d] = %d", i, b)
							}
						}
					}
					return nil
				})
			})
		}
	}
}
