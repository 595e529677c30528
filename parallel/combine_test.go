package parallel

import (
	"fmt"
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
