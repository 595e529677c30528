package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

// Plain serial references.

func refAxpy(alpha float64, x, y []float64) {
	for i := range x {
		y[i] += alpha * x[i]
	}
}

func refDot(x, y []float64) (s, abs float64) {
	for i := range x {
		s += x[i] * y[i]
		abs += math.Abs(x[i] * y[i])
	}
	return s, abs
}

func refNrm2(x []float64) float64 {
	// Scaled, as reference BLAS does, in big.Float-free plain Go.
	scale, ssq := 0.0, 1.0
	for _, v := range x {
		if v != 0 {
			a := math.Abs(v)
			if scale < a {
				ssq = 1 + ssq*(scale/a)*(scale/a)
				scale = a
			} else {
				ssq += (a / scale) * (a / scale)
			}
		}
	}
	return scale * math.Sqrt(ssq)
}

func refStencil5(dst, src []float64, nx, ny int, c0, c1 float64) {
	for j := 1; j < ny-1; j++ {
		for i := 1; i < nx-1; i++ {
			o := j*nx + i
			dst[o] = c0*src[o] + c1*(src[o-1]+src[o+1]+src[o-nx]+src[o+nx])
		}
	}
}

func refStencil7(dst, src []float64, nx, ny, nz int, c0, c1 float64) {
	pl := nx * ny
	for k := 1; k < nz-1; k++ {
		for j := 1; j < ny-1; j++ {
			for i := 1; i < nx-1; i++ {
				o := k*pl + j*nx + i
				dst[o] = c0*src[o] + c1*(src[o-1]+src[o+1]+src[o-nx]+src[o+nx]+src[o-pl]+src[o+pl])
			}
		}
	}
}

// guarded returns a slice of length n at element offset off inside a larger
// buffer whose other elements hold a NaN sentinel, and a check function
// that fails the test if any sentinel was overwritten.
var sentinel = math.Float64frombits(0x7ff8_dead_beef_0001)

const guard = 9

func guarded(t *testing.T, n, off int, fill func(i int) float64) ([]float64, func()) {
	buf := make([]float64, off+n+guard+off)
	for i := range buf {
		buf[i] = sentinel
	}
	s := buf[guard/2+off : guard/2+off+n : guard/2+off+n]
	for i := range s {
		s[i] = fill(i)
	}
	return s, func() {
		t.Helper()
		for i := range buf {
			in := i >= guard/2+off && i < guard/2+off+n
			if !in && math.Float64bits(buf[i]) != math.Float64bits(sentinel) {
				t.Fatalf("stray write at guard element %d (n=%d off=%d)", i, n, off)
			}
		}
	}
}

func testPools(t *testing.T) map[string]*Pool {
	return map[string]*Pool{
		"nil":         nil,
		"1w":          newPool(t, Config{Workers: 1, MinGrain: 1}),
		"2w":          newPool(t, Config{Workers: 2, MinGrain: 1}),
		"3w-unpinned": newPool(t, Config{Workers: 3, MinGrain: 1, NoPin: true}),
		"2w-default":  newPool(t, Config{Workers: 2}),
	}
}

var lengths = []int{0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 63, 64, 65, 100, 1023, 4097, 10007}

// eq reports whether got is within tol of want (absolute).
func eq(got, want, tol float64) bool {
	if math.IsNaN(want) {
		return math.IsNaN(got)
	}
	return math.Abs(got-want) <= tol
}

func TestVectorKernels(t *testing.T) {
	for _, asm := range []bool{false, true} {
		if asm && !useAVX2 {
			continue
		}
		t.Run(fmt.Sprintf("asm=%v", asm), func(t *testing.T) {
			saved := useAVX2
			useAVX2 = asm
			defer func() { useAVX2 = saved }()
			testVectorKernels(t)
		})
	}
}

func testVectorKernels(t *testing.T) {
	const eps = 0x1p-52
	for pname, p := range testPools(t) {
		for _, n := range lengths {
			for off := range 4 {
				name := fmt.Sprintf("%s/n=%d/off=%d", pname, n, off)
				rng := rand.New(rand.NewPCG(uint64(n), uint64(off)))
				rnd := func(int) float64 { return rng.Float64()*2 - 1 }
				x, cx := guarded(t, n, off, rnd)
				y, cy := guarded(t, n, off, rnd)
				z, cz := guarded(t, n, off, rnd)

				// Elementwise kernels must match the reference exactly
				// (the same operations in the same order per element).
				want := append([]float64(nil), y...)
				refAxpy(0.7, x, want)
				Axpy(p, 0.7, x, y)
				for i := range y {
					if y[i] != want[i] {
						t.Fatalf("%s Axpy[%d] = %v, want %v", name, i, y[i], want[i])
					}
				}
				Triad(p, z, x, y, 3)
				for i := range z {
					if z[i] != x[i]+3*y[i] {
						t.Fatalf("%s Triad[%d]", name, i)
					}
				}
				Add(p, z, x, y)
				for i := range z {
					if z[i] != x[i]+y[i] {
						t.Fatalf("%s Add[%d]", name, i)
					}
				}
				StreamScale(p, z, x, -2)
				for i := range z {
					if z[i] != -2*x[i] {
						t.Fatalf("%s StreamScale[%d]", name, i)
					}
				}
				Copy(p, z, y)
				for i := range z {
					if z[i] != y[i] {
						t.Fatalf("%s Copy[%d]", name, i)
					}
				}
				Scale(p, 0.5, z)
				for i := range z {
					if z[i] != 0.5*y[i] {
						t.Fatalf("%s Scale[%d]", name, i)
					}
				}

				// Reductions: |got − ref| ≤ 2·n·ε·Σ|xᵢyᵢ| (reassociation bound).
				d, abs := refDot(x, y)
				if got := Dot(p, x, y); !eq(got, d, 2*float64(n)*eps*abs) {
					t.Fatalf("%s Dot = %v, want %v", name, got, d)
				}
				// Nrm2: relative error ≤ 2·n·ε.
				r := refNrm2(x)
				if got := Nrm2(p, x); !eq(got, r, 2*float64(n+1)*eps*r) {
					t.Fatalf("%s Nrm2 = %v, want %v", name, got, r)
				}
				cx()
				cy()
				cz()
			}
		}
	}
}

func TestNrm2Extremes(t *testing.T) {
	p := newPool(t, Config{Workers: 2, MinGrain: 1})
	tests := []struct {
		x    []float64
		want float64
	}{
		{[]float64{3e200, 4e200}, 5e200},
		{[]float64{3e-200, 4e-200}, 5e-200},
		{[]float64{3e-320, 4e-320}, 5e-320},
		{[]float64{0, 0, 0}, 0},
		{[]float64{1, math.Inf(-1)}, math.Inf(1)},
		{[]float64{1, math.NaN(), 2}, math.NaN()},
		{nil, 0},
	}
	for _, tc := range tests {
		for _, pool := range []*Pool{nil, p} {
			got := Nrm2(pool, tc.x)
			if !eq(got, tc.want, 4*0x1p-52*tc.want) && !(math.IsInf(got, 1) && math.IsInf(tc.want, 1)) {
				t.Errorf("Nrm2(%v) = %v, want %v", tc.x, got, tc.want)
			}
		}
	}
}

func TestLengthMismatchPanics(t *testing.T) {
	cases := map[string]func(){
		"Axpy":    func() { Axpy(nil, 1, make([]float64, 2), make([]float64, 3)) },
		"Dot":     func() { Dot(nil, make([]float64, 2), make([]float64, 3)) },
		"Triad":   func() { Triad(nil, make([]float64, 2), make([]float64, 2), make([]float64, 3), 1) },
		"Stencil": func() { Stencil5(nil, make([]float64, 8), make([]float64, 9), 3, 3, 1, 1) },
		"SpMV":    func() { SpMV(nil, make([]float64, 1), &CSR{Rows: 1, Cols: 1, RowPtr: []int{0, 0}}, nil) },
		"CSR":     func() { SpMV(nil, nil, &CSR{Rows: 0, RowPtr: []int{1}}, nil) },
		"Gemm": func() {
			Gemm(nil, blas.NoTrans, blas.NoTrans, 1, blas64.General{Rows: 2, Cols: 3, Stride: 3, Data: make([]float64, 6)},
				blas64.General{Rows: 2, Cols: 2, Stride: 2, Data: make([]float64, 4)}, 0,
				blas64.General{Rows: 2, Cols: 2, Stride: 2, Data: make([]float64, 4)})
		},
	}
	for name, f := range cases {
		func() {
			defer func() {
				r := recover()
				if s, ok := r.(string); !ok || len(s) < 9 || s[:9] != "kernels: " {
					t.Errorf("%s: recover = %v, want kernels: panic", name, r)
				}
			}()
			f()
		}()
	}
}

func TestStencils(t *testing.T) {
	pools := testPools(t)
	for pname, p := range pools {
		for _, sz := range [][2]int{{0, 0}, {1, 5}, {2, 2}, {3, 3}, {4, 3}, {5, 4}, {17, 9}, {64, 33}, {129, 70}} {
			nx, ny := sz[0], sz[1]
			rng := rand.New(rand.NewPCG(uint64(nx), uint64(ny)))
			src, cs := guarded(t, nx*ny, 1, func(int) float64 { return rng.Float64() })
			dst, cd := guarded(t, nx*ny, 3, func(int) float64 { return sentinel })
			want := make([]float64, nx*ny)
			for i := range want {
				want[i] = sentinel
			}
			refStencil5(want, src, nx, ny, 0.5, 0.125)
			Stencil5(p, dst, src, nx, ny, 0.5, 0.125)
			for i := range dst {
				if math.Float64bits(dst[i]) != math.Float64bits(want[i]) {
					t.Fatalf("%s Stencil5 %dx%d: [%d] = %v, want %v", pname, nx, ny, i, dst[i], want[i])
				}
			}
			cs()
			cd()
		}
		for _, sz := range [][3]int{{0, 0, 0}, {3, 3, 3}, {2, 5, 5}, {4, 5, 6}, {17, 9, 5}, {33, 20, 12}} {
			nx, ny, nz := sz[0], sz[1], sz[2]
			n := nx * ny * nz
			rng := rand.New(rand.NewPCG(uint64(nx), uint64(nz)))
			src, cs := guarded(t, n, 2, func(int) float64 { return rng.Float64() })
			dst, cd := guarded(t, n, 0, func(int) float64 { return sentinel })
			want := make([]float64, n)
			for i := range want {
				want[i] = sentinel
			}
			refStencil7(want, src, nx, ny, nz, 0.4, 0.1)
			Stencil7(p, dst, src, nx, ny, nz, 0.4, 0.1)
			for i := range dst {
				// The kernel groups the six neighbours in pairs: allow
				// 8ε·Σ|terms| (values are in [0,1), so terms ≤ 1).
				if !eq(dst[i], want[i], 8*0x1p-52) && math.Float64bits(dst[i]) != math.Float64bits(want[i]) {
					t.Fatalf("%s Stencil7 %v: [%d] = %v, want %v", pname, sz, i, dst[i], want[i])
				}
			}
			cs()
			cd()
		}
	}
}

// randomCSR builds a rows×cols matrix with a skewed row length
// distribution, including empty rows and one dense row.
func randomCSR(rng *rand.Rand, rows, cols int) *CSR {
	a := &CSR{Rows: rows, Cols: cols, RowPtr: []int{0}}
	for r := range rows {
		var nnz int
		switch {
		case cols == 0:
		case r == rows/2:
			nnz = cols
		case r%5 == 0:
			nnz = 0
		default:
			nnz = rng.IntN(min(cols, 8) + 1)
		}
		for range nnz {
			a.ColIdx = append(a.ColIdx, rng.IntN(cols))
			a.Val = append(a.Val, rng.Float64()*2-1)
		}
		a.RowPtr = append(a.RowPtr, len(a.Val))
	}
	return a
}

func TestSpMV(t *testing.T) {
	for pname, p := range testPools(t) {
		for _, sz := range [][2]int{{0, 0}, {1, 1}, {3, 0}, {5, 7}, {64, 64}, {1000, 300}, {5000, 5000}} {
			rng := rand.New(rand.NewPCG(uint64(sz[0]), 7))
			a := randomCSR(rng, sz[0], sz[1])
			x, cx := guarded(t, sz[1], 1, func(int) float64 { return rng.Float64() })
			y, cy := guarded(t, sz[0], 2, func(int) float64 { return sentinel })
			SpMV(p, y, a, x)
			for r := range sz[0] {
				var s float64
				for k := a.RowPtr[r]; k < a.RowPtr[r+1]; k++ {
					s += a.Val[k] * x[a.ColIdx[k]]
				}
				if y[r] != s { // same order per row: exact
					t.Fatalf("%s SpMV %v row %d = %v, want %v", pname, sz, r, y[r], s)
				}
			}
			cx()
			cy()
		}
	}
}

func refGemm(tA, tB blas.Transpose, alpha float64, a, b blas64.General, beta float64, c blas64.General) (want, bound []float64) {
	m, n := c.Rows, c.Cols
	k := a.Cols
	if tA == blas.Trans {
		k = a.Rows
	}
	at := func(i, l int) float64 {
		if tA == blas.Trans {
			return a.Data[l*a.Stride+i]
		}
		return a.Data[i*a.Stride+l]
	}
	bt := func(l, j int) float64 {
		if tB == blas.Trans {
			return b.Data[j*b.Stride+l]
		}
		return b.Data[l*b.Stride+j]
	}
	want = make([]float64, m*n)
	bound = make([]float64, m*n)
	for i := range m {
		for j := range n {
			var s, abs float64
			for l := range k {
				s += at(i, l) * bt(l, j)
				abs += math.Abs(at(i, l) * bt(l, j))
			}
			cv := c.Data[i*c.Stride+j]
			if beta == 0 {
				cv = 0
			}
			want[i*n+j] = alpha*s + beta*cv
			bound[i*n+j] = 2 * float64(k+2) * 0x1p-52 * (math.Abs(alpha)*abs + math.Abs(beta*cv))
		}
	}
	return want, bound
}

func TestGemm(t *testing.T) {
	pools := map[string]*Pool{
		"nil": nil,
		"2w":  newPool(t, Config{Workers: 2}),
		"3w":  newPool(t, Config{Workers: 3, NoPin: true}),
	}
	dims := [][3]int{{0, 3, 4}, {3, 0, 2}, {2, 3, 0}, {1, 1, 1}, {5, 7, 3}, {63, 65, 64}, {64, 192, 256}, {65, 193, 257}, {130, 70, 300}, {200, 400, 40}}
	trans := []blas.Transpose{blas.NoTrans, blas.Trans}
	for pname, p := range pools {
		for _, d := range dims {
			for _, tA := range trans {
				for _, tB := range trans {
					for _, ab := range [][2]float64{{1, 0}, {-0.5, 1}, {2, 0.25}, {0, 3}} {
						m, n, k := d[0], d[1], d[2]
						rng := rand.New(rand.NewPCG(uint64(m*n+k), uint64(tA+tB)))
						mk := func(r, c, pad int) blas64.General {
							g := blas64.General{Rows: r, Cols: c, Stride: c + pad}
							if g.Stride == 0 {
								g.Stride = 1
							}
							g.Data = make([]float64, max(0, r*g.Stride))
							for i := range g.Data {
								if i%g.Stride < c {
									g.Data[i] = rng.Float64()*2 - 1
								} else {
									g.Data[i] = sentinel
								}
							}
							return g
						}
						var a, b blas64.General
						if tA == blas.NoTrans {
							a = mk(m, k, 1)
						} else {
							a = mk(k, m, 2)
						}
						if tB == blas.NoTrans {
							b = mk(k, n, 0)
						} else {
							b = mk(n, k, 3)
						}
						c := mk(m, n, 2)
						if ab[1] == 0 && m > 0 && n > 0 {
							c.Data[0] = math.NaN() // beta 0 must clear it
						}
						want, bound := refGemm(tA, tB, ab[0], a, b, ab[1], c)
						Gemm(p, tA, tB, ab[0], a, b, ab[1], c)
						for i := range m {
							for j := range c.Stride {
								got := c.Data[i*c.Stride+j]
								if j >= n {
									if math.Float64bits(got) != math.Float64bits(sentinel) {
										t.Fatalf("%s Gemm %v: stray write in padding (%d,%d)", pname, d, i, j)
									}
									continue
								}
								if !eq(got, want[i*n+j], bound[i*n+j]) {
									t.Fatalf("%s Gemm %v tA=%c tB=%c α=%v β=%v: C[%d,%d] = %v, want %v ± %v",
										pname, d, tA, tB, ab[0], ab[1], i, j, got, want[i*n+j], bound[i*n+j])
								}
							}
						}
					}
				}
			}
		}
	}
}
