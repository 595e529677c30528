package main

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// Frame is the data that flows between stages: named int64 columns (a very
// small data frame). It travels as a stage's argument and result, encoded
// with msgpack by the executor.
type Frame struct {
	Cols map[string][]int64
}

// Len is the length of the customer column (of the first column if none).
func (f Frame) Len() int {
	if c, ok := f.Cols["customer"]; ok {
		return len(c)
	}
	for _, c := range f.Cols {
		return len(c)
	}
	return 0
}

// Stage is one node of the graph: its inputs are the outputs of Deps, in
// order.
type Stage struct {
	Name string
	Deps []int
	Run  func(p Params, in []Frame) Frame
}

// Graph returns the stages in a topological order (every stage after its
// dependencies).
func Graph() []Stage {
	return []Stage{
		{"extract", nil, extract},
		{"spend", []int{0}, spend},
		{"stats", []int{0}, stats},
		{"join", []int{1, 2}, join},
		{"report", []int{3}, report},
	}
}

// extract produces the orders: id, customer, amount in cents.
func extract(p Params, _ []Frame) Frame {
	rng := rand.New(rand.NewPCG(7, 11))
	id := make([]int64, p.Orders)
	cust := make([]int64, p.Orders)
	cents := make([]int64, p.Orders)
	for i := range id {
		id[i] = int64(i)
		// A few customers order much more often than the rest.
		c := rng.Int64N(p.Customers)
		if rng.IntN(4) == 0 {
			c = rng.Int64N(max(p.Customers/50, 1))
		}
		cust[i] = c
		cents[i] = 100 + rng.Int64N(50_000)
	}
	return Frame{map[string][]int64{"id": id, "customer": cust, "cents": cents}}
}

// spend: revenue per customer.
func spend(_ Params, in []Frame) Frame {
	total := map[int64]int64{}
	o := in[0].Cols
	for i, c := range o["customer"] {
		total[c] += o["cents"][i]
	}
	keys := sortedKeys(total)
	vals := make([]int64, len(keys))
	for i, k := range keys {
		vals[i] = total[k]
	}
	return Frame{map[string][]int64{"customer": keys, "spend": vals}}
}

// stats: number of orders and largest order per customer.
func stats(_ Params, in []Frame) Frame {
	count, biggest := map[int64]int64{}, map[int64]int64{}
	o := in[0].Cols
	for i, c := range o["customer"] {
		count[c]++
		biggest[c] = max(biggest[c], o["cents"][i])
	}
	keys := sortedKeys(count)
	n, b := make([]int64, len(keys)), make([]int64, len(keys))
	for i, k := range keys {
		n[i], b[i] = count[k], biggest[k]
	}
	return Frame{map[string][]int64{"customer": keys, "orders": n, "biggest": b}}
}

// join: inner join of spend and stats on customer (both sorted by customer:
// a merge join).
func join(_ Params, in []Frame) Frame {
	a, b := in[0].Cols, in[1].Cols
	out := map[string][]int64{}
	i, j := 0, 0
	for i < len(a["customer"]) && j < len(b["customer"]) {
		ca, cb := a["customer"][i], b["customer"][j]
		switch {
		case ca < cb:
			i++
		case ca > cb:
			j++
		default:
			out["customer"] = append(out["customer"], ca)
			out["spend"] = append(out["spend"], a["spend"][i])
			out["orders"] = append(out["orders"], b["orders"][j])
			out["biggest"] = append(out["biggest"], b["biggest"][j])
			out["mean"] = append(out["mean"], a["spend"][i]/b["orders"][j])
			i++
			j++
		}
	}
	return Frame{out}
}

// report: the ten best customers by revenue, and the grand totals.
func report(_ Params, in []Frame) Frame {
	f := in[0].Cols
	idx := make([]int, len(f["customer"]))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(x, y int) int {
		if f["spend"][x] != f["spend"][y] {
			if f["spend"][x] > f["spend"][y] {
				return -1
			}
			return 1
		}
		return 0
	})
	idx = idx[:min(10, len(idx))]
	out := map[string][]int64{}
	for _, c := range []string{"customer", "spend", "orders", "biggest", "mean"} {
		for _, i := range idx {
			out[c] = append(out[c], f[c][i])
		}
	}
	var revenue, orders int64
	for i := range f["spend"] {
		revenue += f["spend"][i]
		orders += f["orders"][i]
	}
	out["total"] = []int64{revenue, orders, int64(len(f["customer"]))}
	return Frame{out}
}

func sortedKeys(m map[int64]int64) []int64 {
	keys := make([]int64, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// equalFrames reports the first difference between two frames, or "".
func equalFrames(a, b Frame) string {
	if len(a.Cols) != len(b.Cols) {
		return fmt.Sprintf("%d columns, want %d", len(a.Cols), len(b.Cols))
	}
	for name, want := range b.Cols {
		got, ok := a.Cols[name]
		if !ok {
			return fmt.Sprintf("column %q missing", name)
		}
		if !slices.Equal(got, want) {
			return fmt.Sprintf("column %q: %v, want %v", name, head(got), head(want))
		}
	}
	return ""
}

func head(x []int64) []int64 { return x[:min(5, len(x))] }
