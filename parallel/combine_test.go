package parallel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

type benchRow struct{ Year, Age int32 }

func benchRows(n int) []benchRow {
	rng := rand.New(rand.NewPCG(1, 2))
	rows := make([]benchRow, n)
	for i := range rows {
		rows[i] = benchRow{int32(1896 + 4*rng.IntN(31)), int32(14 + rng.IntN(50))}
	}
	return rows
}

// The dense and the map paths agree, for small and wide key ranges.
func TestCombinePaths(t *testing.T) {
	rows := benchRows(5000)
	year := func(r benchRow) int32 { return r.Year }
	wide := func(r benchRow) int32 { return r.Year * 100_000 }
	age := func(r benchRow) int32 { return r.Age }
	dense := combine(rows, year, age, Sum[int32]())
	sparse := combine(rows, wide, age, Sum[int32]())
	str := combine(rows, func(r benchRow) string { return fmt.Sprint(r.Year) }, age, Sum[int32]())
	if len(dense) != 31 || len(sparse) != 31 || len(str) != 31 {
		t.Fatalf("keys: %d %d %d", len(dense), len(sparse), len(str))
	}
	for k, v := range dense {
		if sparse[k*100_000] != v || str[fmt.Sprint(k)] != v {
			t.Fatalf("year %d: %d, %d, %d", k, v, sparse[k*100_000], str[fmt.Sprint(k)])
		}
	}
	if got := combine([]benchRow{}, year, age, Sum[int32]()); len(got) != 0 {
		t.Fatal("empty input")
	}
}

func BenchmarkCombine(b *testing.B) {
	rows := benchRows(1 << 20)
	age := func(r benchRow) int32 { return r.Age }
	for _, c := range []struct {
		name string
		key  func(benchRow) int32
	}{{"dense", func(r benchRow) int32 { return r.Year }}, {"map", func(r benchRow) int32 { return r.Year * 100_000 }}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(rows)) * 8)
			for b.Loop() {
				combine(rows, c.key, age, Mean[int32]())
			}
		})
	}
}

// refFold is the plain reference of the combiners: Add, row by row.
func refFold[K comparable, V, A any](keys []K, vals []V, agg Agg[V, A]) map[K]A {
	out := map[K]A{}
	for i, k := range keys {
		a, ok := out[k]
		if !ok {
			a = agg.Zero
		}
		out[k] = agg.Add(a, vals[i])
	}
	return out
}

func checkColumns[K Key, V Number](t *testing.T, name string, keys []K, vals []V) {
	t.Helper()
	eq := func(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }
	sum, want := combineColumns(keys, vals, Sum[V]()), refFold(keys, vals, Sum[V]())
	if len(sum) != len(want) {
		t.Fatalf("%s: Sum: %d keys, want %d", name, len(sum), len(want))
	}
	for k, w := range want {
		if got, ok := sum[k]; !ok || !eq(float64(got), float64(w)) {
			t.Fatalf("%s: Sum[%v] = %v, want %v", name, k, got, w)
		}
	}
	cnt, wantN := combineColumns(keys, vals, Count[V]()), refFold(keys, vals, Count[V]())
	mean, wantM := combineColumns(keys, vals, Mean[V]()), refFold(keys, vals, Mean[V]())
	if len(cnt) != len(wantN) || len(mean) != len(wantM) {
		t.Fatalf("%s: %d and %d keys, want %d", name, len(cnt), len(mean), len(wantN))
	}
	for k, w := range wantN {
		if cnt[k] != w {
			t.Fatalf("%s: Count[%v] = %d, want %d", name, k, cnt[k], w)
		}
		if m := mean[k]; m.N != w || !eq(m.Sum, wantM[k].Sum) {
			t.Fatalf("%s: Mean[%v] = %+v, want %+v", name, k, m, wantM[k])
		}
	}
}

// The column kernels (dense, four lanes, tails) agree with Add row by
// row, for every key width, signed and unsigned keys whose bits read as
// negative, narrow and wide value types, and key ranges too wide for the
// dense arrays.
func TestCombineColumns(t *testing.T) {
	type year int16
	for _, n := range []int{0, 1, 3, 63, 64*31 + 5, 1<<14 + 7, 100_003} {
		rng := rand.New(rand.NewPCG(uint64(n), 9))
		i8, u8, y16 := make([]int8, n), make([]uint8, n), make([]year, n)
		u32, i64, wide, str := make([]uint32, n), make([]int64, n), make([]int, n), make([]string, n)
		v32, vu8, vf := make([]int32, n), make([]uint8, n), make([]float64, n)
		for i := range n {
			k := rng.IntN(31)
			if rng.Float64() < 0.3 {
				k = 25 // a hot key
			}
			i8[i], u8[i], y16[i] = int8(k-15), uint8(240+k%16), year(1896+4*k)
			u32[i], i64[i], wide[i], str[i] = 1<<31+uint32(k), int64(k)-1<<40, k*1_000_003, fmt.Sprint(k)
			v32[i], vu8[i], vf[i] = int32(rng.IntN(100)-20), uint8(rng.IntN(256)), rng.NormFloat64()
		}
		name := func(s string) string { return fmt.Sprintf("n=%d/%s", n, s) }
		checkColumns(t, name("int8/int32"), i8, v32)
		checkColumns(t, name("uint8/uint8"), u8, vu8)
		checkColumns(t, name("year/float64"), y16, vf)
		checkColumns(t, name("uint32/int32"), u32, v32)
		checkColumns(t, name("int64/float64"), i64, vf)
		checkColumns(t, name("wide/int32"), wide, v32)
		checkColumns(t, name("string/uint8"), str, vu8)
	}
}

func BenchmarkCombineColumns(b *testing.B) {
	rows := benchRows(1 << 20)
	years, ages := make([]int32, len(rows)), make([]int32, len(rows))
	for i, r := range rows {
		years[i], ages[i] = r.Year, r.Age
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(rows)) * 8)
	for b.Loop() {
		combineColumns(years, ages, Mean[int32]())
	}
}

// The one-pass dense path widens its key range when later rows bring keys
// outside the first rows' range (upward, downward, both, across the
// four-lane and the tail loops), and hands the rest to the map when the
// span grows too wide: the results still agree with Add row by row.
func TestCombineColumnsWidening(t *testing.T) {
	for _, n := range []int{probeRows - 1, probeRows + 3, 5*probeRows + 1, 100_003} {
		up, down, out := make([]int32, n), make([]int64, n), make([]int16, n)
		late, tail := make([]int32, n), make([]uint8, n)
		vals := make([]int32, n)
		for i := range n {
			up[i] = int32(i / 7)
			down[i] = -int64(i / 3)
			out[i] = int16((i / 5) * (1 - 2*(i%2)))
			late[i] = int32(i % 31)
			if i == n-2 {
				late[i] = 1 << 30 // too wide: the rest goes through the map
			}
			tail[i] = uint8(i % 4)
			if i >= n-3 {
				tail[i] = 200 + uint8(i%3) // beyond the first range, in the tail loop
			}
			vals[i] = int32(i%100 - 30)
		}
		name := func(s string) string { return fmt.Sprintf("n=%d/%s", n, s) }
		checkColumns(t, name("up"), up, vals)
		checkColumns(t, name("down"), down, vals)
		checkColumns(t, name("outward"), out, vals)
		checkColumns(t, name("late wide key"), late, vals)
		checkColumns(t, name("tail"), tail, vals)
	}
}
