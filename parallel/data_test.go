package parallel_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
	"github.com/gorun-hpc/gorun/parallel"
)

type row struct {
	Year int32
	Age  int32
}

// rowsOf is rank r's part of a table in which a fraction skew of the rows
// have year 1996 (the hot key).
func rowsOf(r, n int, skew float64) []row {
	rng := rand.New(rand.NewPCG(uint64(r), 7))
	out := make([]row, n)
	for i := range out {
		y := int32(1896 + 4*rng.IntN(30))
		if rng.Float64() < skew {
			y = 1996
		}
		out[i] = row{y, int32(10 + rng.IntN(60))}
	}
	return out
}

func TestShuffle(t *testing.T) {
	for _, np := range nps {
		for _, n := range []int{0, 1, 7, 1000} {
			t.Run(fmt.Sprintf("np=%d/n=%d", np, n), func(t *testing.T) {
				commtest.Run(t, np, comm.Config{}, func(ctx context.Context, c *comm.Comm) error {
					rows := rowsOf(c.Rank(), n, 0.3)
					dest := func(_ int, r row) int { return parallel.HashPartition(r.Year, np) }
					got, err := parallel.Shuffle(ctx, c, rows, dest)
					if err != nil {
						return err
					}
					// Plain records (raw memory) and others (msgpack) agree.
					type named struct {
						Name string
						Age  int32
					}
					nrows := make([]named, len(rows))
					for i, r := range rows {
						nrows[i] = named{fmt.Sprint(r.Year), r.Age}
					}
					ngot, err := parallel.Shuffle(ctx, c, nrows, func(i int, _ named) int { return dest(i, rows[i]) })
					if err != nil {
						return err
					}
					if len(ngot) != len(got) {
						return fmt.Errorf("msgpack shuffle: %d records, raw %d", len(ngot), len(got))
					}
					for i := range got {
						if parallel.HashPartition(got[i].Year, np) != c.Rank() {
							return fmt.Errorf("record %+v landed on rank %d", got[i], c.Rank())
						}
						if ngot[i].Name != fmt.Sprint(got[i].Year) || ngot[i].Age != got[i].Age {
							return fmt.Errorf("record %d: %+v vs %+v", i, ngot[i], got[i])
						}
					}
					// Every record arrives exactly once: the total and the
					// sum of ages are conserved.
					sums := []int64{int64(len(got)), 0}
					for _, r := range got {
						sums[1] += int64(r.Age)
					}
					want := []int64{int64(len(rows)), 0}
					for _, r := range rows {
						want[1] += int64(r.Age)
					}
					a, b := make([]int64, 2), make([]int64, 2)
					if err := collectives.Allreduce(ctx, c, a, sums, collectives.Sum[int64]()); err != nil {
						return err
					}
					if err := collectives.Allreduce(ctx, c, b, want, collectives.Sum[int64]()); err != nil {
						return err
					}
					if !slices.Equal(a, b) {
						return fmt.Errorf("after the shuffle %v, before %v", a, b)
					}
					return nil
				})
			})
		}
	}
}

func TestShuffleBadDest(t *testing.T) {
	commtest.Run(t, 3, comm.Config{}, func(ctx context.Context, c *comm.Comm) error {
		_, err := parallel.Shuffle(ctx, c, []int64{1, 2}, func(i int, _ int64) int {
			if c.Rank() == 2 {
				return 3
			}
			return 0
		})
		if !errors.Is(err, comm.ErrInvalidRank) {
			return fmt.Errorf("want ErrInvalidRank on every rank, got %v", err)
		}
		return nil
	})
}

func TestShuffleStreamBounded(t *testing.T) {
	for _, np := range nps {
		for _, batch := range []int{1, 7, 100} {
			t.Run(fmt.Sprintf("np=%d/batch=%d", np, batch), func(t *testing.T) {
				commtest.Run(t, np, comm.Config{}, func(ctx context.Context, c *comm.Comm) error {
					n := 300 * (c.Rank() + 1) // uneven inputs
					rows := rowsOf(c.Rank(), n, 0.5)
					var got, most int
					var ages int64
					err := parallel.ShuffleStream(ctx, c, slices.Values(rows),
						func(r row) int { return parallel.HashPartition(r.Year, np) }, batch,
						func(recv []row) error {
							got += len(recv)
							most = max(most, len(recv))
							for _, r := range recv {
								if parallel.HashPartition(r.Year, np) != c.Rank() {
									return fmt.Errorf("record %+v on rank %d", r, c.Rank())
								}
								ages += int64(r.Age)
							}
							return nil
						})
					if err != nil {
						return err
					}
					if most > np*batch {
						return fmt.Errorf("a round delivered %d records, bound %d", most, np*batch)
					}
					var mine int64
					for _, r := range rows {
						mine += int64(r.Age)
					}
					a, b := make([]int64, 2), make([]int64, 2)
					if err := collectives.Allreduce(ctx, c, a, []int64{int64(got), ages}, collectives.Sum[int64]()); err != nil {
						return err
					}
					if err := collectives.Allreduce(ctx, c, b, []int64{int64(n), mine}, collectives.Sum[int64]()); err != nil {
						return err
					}
					if !slices.Equal(a, b) {
						return fmt.Errorf("streamed %v, input %v", a, b)
					}
					return nil
				})
			})
		}
	}
}

var errEmit = errors.New("emit refused")

func TestShuffleStreamFailureEndsEverywhere(t *testing.T) {
	commtest.Run(t, 3, comm.Config{}, func(ctx context.Context, c *comm.Comm) error {
		rows := rowsOf(c.Rank(), 500, 0)
		err := parallel.ShuffleStream(ctx, c, slices.Values(rows), func(r row) int { return int(r.Age) % 3 }, 10,
			func([]row) error {
				if c.Rank() == 1 {
					return errEmit
				}
				return nil
			})
		if c.Rank() == 1 && !errors.Is(err, errEmit) || c.Rank() != 1 && !errors.Is(err, parallel.ErrShuffleFailed) {
			return fmt.Errorf("rank %d: %v", c.Rank(), err)
		}
		return nil
	})
}

func TestGroupBy(t *testing.T) {
	for _, np := range nps {
		for _, mode := range []string{"combine", "nocombine", "salt"} {
			t.Run(fmt.Sprintf("np=%d/%s", np, mode), func(t *testing.T) {
				commtest.Run(t, np, comm.Config{}, func(ctx context.Context, c *comm.Comm) error {
					var opts []parallel.GroupOption
					switch mode {
					case "nocombine":
						opts = append(opts, parallel.NoCombine())
					case "salt":
						opts = append(opts, parallel.NoCombine(), parallel.Salt())
					}
					var st parallel.GroupStats
					opts = append(opts, parallel.WithStats(&st))
					rows := rowsOf(c.Rank(), 2000, 0.6)
					year := func(r row) int32 { return r.Year }
					age := func(r row) int32 { return r.Age }
					means, err := parallel.GroupBy(ctx, c, rows, year, age, parallel.Mean[int32](), opts...)
					if err != nil {
						return err
					}
					counts, err := parallel.GroupBy(ctx, c, rows, year, age, parallel.Count[int32](), opts...)
					if err != nil {
						return err
					}
					sums, err := parallel.GroupBy(ctx, c, rows, func(r row) string { return fmt.Sprint(r.Year) }, age,
						parallel.Sum[int32](), opts...)
					if err != nil {
						return err
					}
					// A user fold: the oldest age per year.
					oldest, err := parallel.GroupBy(ctx, c, rows, year, age,
						parallel.Fold(int32(0), func(a, v int32) int32 { return max(a, v) }, func(a, b int32) int32 { return max(a, b) }), opts...)
					if err != nil {
						return err
					}
					for k := range means {
						if parallel.HashPartition(k, np) != c.Rank() {
							return fmt.Errorf("key %d on rank %d", k, c.Rank())
						}
					}
					m, err := parallel.Collect(ctx, c, means, 0)
					if err != nil {
						return err
					}
					n, err := parallel.Collect(ctx, c, counts, 0)
					if err != nil {
						return err
					}
					s, err := parallel.Collect(ctx, c, sums, 0)
					if err != nil {
						return err
					}
					o, err := parallel.Collect(ctx, c, oldest, 0)
					if err != nil {
						return err
					}
					if mode == "salt" && np > 1 && st.HotKeys == 0 {
						return fmt.Errorf("salt found no hot key in a 60%% skewed table")
					}
					if c.Rank() != 0 {
						return nil
					}
					// The serial reference.
					type ref struct {
						sum, n int64
						max    int32
					}
					want := map[int32]*ref{}
					for r := range np {
						for _, x := range rowsOf(r, 2000, 0.6) {
							w := want[x.Year]
							if w == nil {
								w = &ref{}
								want[x.Year] = w
							}
							w.sum += int64(x.Age)
							w.n++
							w.max = max(w.max, x.Age)
						}
					}
					if len(m) != len(want) || len(n) != len(want) || len(s) != len(want) || len(o) != len(want) {
						return fmt.Errorf("keys: %d %d %d %d, want %d", len(m), len(n), len(s), len(o), len(want))
					}
					for _, k := range slices.Sorted(maps.Keys(want)) {
						w := want[k]
						mean := float64(w.sum) / float64(w.n)
						if got := m[k].Value(); math.Abs(got-mean) > 1e-12*mean {
							return fmt.Errorf("mean of %d: %v, want %v", k, got, mean)
						}
						if n[k] != w.n || int64(s[fmt.Sprint(k)]) != w.sum || o[k] != w.max {
							return fmt.Errorf("year %d: count %d sum %d max %d, want %+v", k, n[k], s[fmt.Sprint(k)], o[k], *w)
						}
					}
					return nil
				})
			})
		}
	}
}

func TestRangePartition(t *testing.T) {
	for _, np := range nps {
		t.Run(fmt.Sprint("np=", np), func(t *testing.T) {
			commtest.Run(t, np, comm.Config{}, func(ctx context.Context, c *comm.Comm) error {
				rng := rand.New(rand.NewPCG(uint64(c.Rank()), 1))
				keys := make([]float64, 4000)
				for i := range keys {
					keys[i] = rng.NormFloat64()
				}
				p, err := parallel.NewRangePartition(ctx, c, keys[:400])
				if err != nil {
					return err
				}
				if len(p.Bounds) != np-1 || !slices.IsSorted(p.Bounds) {
					return fmt.Errorf("bounds %v", p.Bounds)
				}
				got, err := parallel.Shuffle(ctx, c, keys, func(_ int, k float64) int { return p.Rank(k) })
				if err != nil {
					return err
				}
				for _, k := range got {
					if r := p.Rank(k); r != c.Rank() {
						return fmt.Errorf("key %v on rank %d, owner %d", k, c.Rank(), r)
					}
				}
				// Balanced to within a generous margin (sampled bounds).
				if fair := 4000; len(got) > 2*fair || len(got) < fair/3 {
					return fmt.Errorf("rank %d received %d of about %d keys", c.Rank(), len(got), fair)
				}
				return nil
			})
		})
	}
}

func TestHashIsStable(t *testing.T) {
	// Fixed values: the owner of a key must not depend on the process.
	type year int16
	if parallel.Hash(int64(42)) != parallel.Hash(int(42)) || parallel.Hash(year(42)) != parallel.Hash(int64(42)) {
		t.Error("integer keys of the same value hash differently by type")
	}
	type name string
	if parallel.Hash("ab") != parallel.Hash(name("ab")) || parallel.Hash("ab") == parallel.Hash("ba") {
		t.Error("string hashing")
	}
	if got := parallel.Hash(int64(1)); got != 0x5692161d100b05e5 {
		t.Errorf("Hash(1) = %#x, a different function than before", got)
	}
}

// GroupByColumns gives what GroupBy gives over the same table as rows,
// with the combiner and without.
func TestGroupByColumns(t *testing.T) {
	for _, np := range nps {
		for _, mode := range []string{"combine", "nocombine"} {
			t.Run(fmt.Sprintf("np=%d/%s", np, mode), func(t *testing.T) {
				commtest.Run(t, np, comm.Config{}, func(ctx context.Context, c *comm.Comm) error {
					var opts []parallel.GroupOption
					if mode == "nocombine" {
						opts = append(opts, parallel.NoCombine())
					}
					rows := rowsOf(c.Rank(), 3000+c.Rank(), 0.4)
					years, ages := make([]int32, len(rows)), make([]int32, len(rows))
					for i, r := range rows {
						years[i], ages[i] = r.Year, r.Age
					}
					want, err := parallel.GroupBy(ctx, c, rows, func(r row) int32 { return r.Year }, func(r row) int32 { return r.Age },
						parallel.Mean[int32](), opts...)
					if err != nil {
						return err
					}
					got, err := parallel.GroupByColumns(ctx, c, years, ages, parallel.Mean[int32](), opts...)
					if err != nil {
						return err
					}
					sums, err := parallel.GroupByColumns(ctx, c, years, ages, parallel.Sum[int32](), opts...)
					if err != nil {
						return err
					}
					if len(got) != len(want) || len(sums) != len(want) {
						return fmt.Errorf("%d and %d keys, want %d", len(got), len(sums), len(want))
					}
					for k, w := range want {
						g := got[k]
						if g.N != w.N || math.Abs(g.Sum-w.Sum) > 1e-9*math.Abs(w.Sum) || float64(sums[k]) != w.Sum {
							return fmt.Errorf("year %d: %+v and sum %d, want %+v", k, g, sums[k], w)
						}
						if parallel.HashPartition(k, np) != c.Rank() {
							return fmt.Errorf("key %d on rank %d", k, c.Rank())
						}
					}
					return nil
				})
			})
		}
	}
}

// Columns of different lengths on one rank fail the call on every rank
// with ErrInvalidArgument, and the communicator stays usable.
func TestGroupByColumnsBadLengths(t *testing.T) {
	for _, np := range []int{1, 3} {
		commtest.Run(t, np, comm.Config{}, func(ctx context.Context, c *comm.Comm) error {
			keys, vals := []int32{1, 2, 3}, []int32{1, 2, 3}
			if c.Rank() == np-1 {
				vals = vals[:2]
			}
			if _, err := parallel.GroupByColumns(ctx, c, keys, vals, parallel.Sum[int32]()); !errors.Is(err, comm.ErrInvalidArgument) {
				return fmt.Errorf("want ErrInvalidArgument on every rank, got %v", err)
			}
			got, err := parallel.GroupByColumns(ctx, c, keys, keys, parallel.Count[int32]())
			if err != nil {
				return err
			}
			all, err := parallel.Collect(ctx, c, got, 0)
			if err != nil {
				return err
			}
			if c.Rank() == 0 && (len(all) != 3 || all[1] != int64(np)) {
				return fmt.Errorf("after the failure: %v", all)
			}
			return nil
		})
	}
}
