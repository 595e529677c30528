package collectives

import (
	"math"
	"testing"
)

// TestSumVectorised checks the AVX float sums against the Go loop, bit for
// bit, for lengths around the vector blocks, with infinities, NaNs,
// signed zeros and values whose sum rounds.
func TestSumVectorised(t *testing.T) {
	if !useAVX {
		t.Log("no AVX on this CPU: only the Go loop is checked")
	}
	special := []float64{0, math.Copysign(0, -1), 1e308, -1e308, math.Inf(1), math.Inf(-1), math.NaN(), 1e-310, 0.1, 1.0 / 3}
	for _, n := range []int{0, 1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 1000, 1031} {
		d64, s64 := make([]float64, n), make([]float64, n)
		d32, s32 := make([]float32, n), make([]float32, n)
		for i := range n {
			d64[i] = special[i%len(special)] * float64(i%7+1)
			s64[i] = special[(i*3+1)%len(special)] / float64(i%5+1)
			d32[i], s32[i] = float32(d64[i]), float32(s64[i])
		}
		w64, w32 := append([]float64(nil), d64...), append([]float32(nil), d32...)
		addGo(w64, s64)
		addGo(w32, s32)
		// The one-pass dst = a + b, into a third buffer, against the same.
		t64, t32 := make([]float64, n), make([]float32, n)
		Sum[float64]().fn3(t64, d64, s64)
		Sum[float32]().fn3(t32, d32, s32)
		Sum[float64]().Fn(d64, s64)
		Sum[float32]().Fn(d32, s32)
		for i := range n {
			if math.Float64bits(t64[i]) != math.Float64bits(d64[i]) && !(math.IsNaN(t64[i]) && math.IsNaN(d64[i])) {
				t.Fatalf("float64 a+b n=%d [%d]: %v, want %v", n, i, t64[i], d64[i])
			}
			if math.Float32bits(t32[i]) != math.Float32bits(d32[i]) && !(t32[i] != t32[i] && d32[i] != d32[i]) {
				t.Fatalf("float32 a+b n=%d [%d]: %v, want %v", n, i, t32[i], d32[i])
			}
		}
		for i := range n {
			if math.Float64bits(d64[i]) != math.Float64bits(w64[i]) && !(math.IsNaN(d64[i]) && math.IsNaN(w64[i])) {
				t.Fatalf("float64 n=%d [%d]: %v, want %v", n, i, d64[i], w64[i])
			}
			if math.Float32bits(d32[i]) != math.Float32bits(w32[i]) && !(d32[i] != d32[i] && w32[i] != w32[i]) {
				t.Fatalf("float32 n=%d [%d]: %v, want %v", n, i, d32[i], w32[i])
			}
		}
	}
}

func BenchmarkSumFloat32(b *testing.B) {
	dst, src := make([]float32, 128<<10), make([]float32, 128<<10)
	for _, avx := range []bool{false, true} {
		name := "go"
		if avx {
			name = "avx"
		}
		b.Run(name, func(b *testing.B) {
			old := useAVX
			useAVX = avx && old
			defer func() { useAVX = old }()
			op := Sum[float32]()
			b.SetBytes(int64(len(dst) * 4))
			for b.Loop() {
				op.Fn(dst, src)
			}
		})
	}
}

// TestCombineIntoReplacedFn checks that an Op made from Sum whose Fn was
// replaced combines with the new Fn, not with Sum's one-pass form.
func TestCombineIntoReplacedFn(t *testing.T) {
	op := Sum[float64]()
	if op2 := op; funcID(op2.Fn) != op.fn3For {
		t.Fatal("a copy of Sum's Op does not keep its one-pass form")
	}
	a, b, dst := []float64{2, 3}, []float64{5, 7}, make([]float64, 2)
	combineInto(op, dst, a, b, nil)
	if dst[0] != 7 || dst[1] != 10 {
		t.Fatalf("Sum: %v", dst)
	}
	op.Fn = func(d, s []float64) {
		for i := range d {
			d[i] *= s[i]
		}
	}
	combineInto(op, dst, a, b, nil)
	if dst[0] != 10 || dst[1] != 21 {
		t.Fatalf("Sum with Fn replaced by a product: %v, want [10 21]", dst)
	}
}
