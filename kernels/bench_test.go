package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"

	"github.com/gorun-hpc/gorun/kernels/affinity"
)

// benchPools returns pools of 1..ncpu workers, pinned and unpinned.
func benchPools(b *testing.B) []struct {
	name string
	p    *Pool
} {
	cpus, err := affinity.Current()
	if err != nil {
		b.Skip(err)
	}
	var out []struct {
		name string
		p    *Pool
	}
	for _, pin := range []bool{true, false} {
		for w := 1; w <= cpus.Len(); w++ {
			p := newPool(b, Config{Workers: w, NoPin: !pin})
			out = append(out, struct {
				name string
				p    *Pool
			}{fmt.Sprintf("workers=%d/pin=%v", w, pin), p})
		}
	}
	return out
}

func BenchmarkTriad(b *testing.B) {
	for _, n := range []int{1 << 12, 1 << 16, 1 << 20, 1 << 24} {
		for _, bp := range benchPools(b) {
			b.Run(fmt.Sprintf("n=%d/%s", n, bp.name), func(b *testing.B) {
				x := MakeLocal[float64](bp.p, n)
				y := MakeLocal[float64](bp.p, n)
				z := MakeLocal[float64](bp.p, n)
				b.SetBytes(int64(24 * n))
				b.ReportAllocs()
				for b.Loop() {
					Triad(bp.p, x, y, z, 3)
				}
			})
		}
	}
}

func BenchmarkDot(b *testing.B) {
	const n = 1 << 20
	for _, bp := range benchPools(b) {
		b.Run(bp.name, func(b *testing.B) {
			x := MakeLocal[float64](bp.p, n)
			y := MakeLocal[float64](bp.p, n)
			b.SetBytes(16 * n)
			for b.Loop() {
				Dot(bp.p, x, y)
			}
		})
	}
}

func BenchmarkStencil7(b *testing.B) {
	const nx, ny, nz = 128, 128, 64
	for _, bp := range benchPools(b) {
		b.Run(bp.name, func(b *testing.B) {
			src := MakeLocal[float64](bp.p, nx*ny*nz)
			dst := MakeLocal[float64](bp.p, nx*ny*nz)
			b.SetBytes(16 * nx * ny * nz)
			for b.Loop() {
				Stencil7(bp.p, dst, src, nx, ny, nz, 0.4, 0.1)
			}
		})
	}
}

func BenchmarkSpMV(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	a := randomCSR(rng, 200_000, 200_000)
	x := make([]float64, a.Cols)
	y := make([]float64, a.Rows)
	for _, bp := range benchPools(b) {
		b.Run(bp.name, func(b *testing.B) {
			b.SetBytes(int64(12*len(a.Val) + 8*len(y)))
			for b.Loop() {
				SpMV(bp.p, y, a, x)
			}
		})
	}
}

func BenchmarkGemm(b *testing.B) {
	const n = 512
	rng := rand.New(rand.NewPCG(1, 2))
	mk := func() blas64.General {
		g := blas64.General{Rows: n, Cols: n, Stride: n, Data: make([]float64, n*n)}
		for i := range g.Data {
			g.Data[i] = rng.Float64()
		}
		return g
	}
	x, y, z := mk(), mk(), mk()
	for _, bp := range benchPools(b) {
		b.Run(bp.name, func(b *testing.B) {
			for b.Loop() {
				Gemm(bp.p, blas.NoTrans, blas.NoTrans, 1, x, y, 0, z)
			}
			b.ReportMetric(2*n*n*n*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
	b.Run("gonum-blas64", func(b *testing.B) {
		for b.Loop() {
			blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, x, y, 0, z)
		}
		b.ReportMetric(2*n*n*n*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
}

func BenchmarkParallelForOverhead(b *testing.B) {
	for _, bp := range benchPools(b) {
		b.Run(bp.name, func(b *testing.B) {
			for b.Loop() {
				bp.p.ParallelFor(bp.p.Workers(), Schedule{}, func(lo, hi, w int) {})
			}
		})
	}
}
