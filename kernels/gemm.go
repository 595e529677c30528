package kernels

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/blas/gonum"
)

// Tile sizes of Gemm. A C tile of gemmTileM×gemmTileN spans fewer than four
// of gonum's 64×64 blocks, so gonum's Dgemm takes its serial path for it
// and never starts goroutines of its own (which would escape the pinned
// workers). The k dimension is cut into panels of gemmTileK so that the B
// panel of a tile (gemmTileK×gemmTileN doubles, 384 KiB) stays in L2.
var (
	gemmTileM = 64
	gemmTileN = 192
	gemmTileK = 256
)

// Gemm computes C = alpha·op(A)·op(B) + beta·C like blas64.Gemm, where
// op(X) is X or Xᵀ as selected by tA and tB (blas.NoTrans or blas.Trans).
// C is cut into tiles that the workers take dynamically; each tile is
// computed by one worker, panel by panel along k, with gonum's serial
// Dgemm, so every multiply-add runs on a pinned worker thread. Dimensions
// must agree (op(A) is m×k, op(B) k×n, C m×n) or Gemm panics. C must not
// overlap A or B. Results match a serial Dgemm up to rounding from the
// different k association (each element's sum is split at panel
// boundaries): |error| ≲ 2·k·ε·Σ|a·b|.
func Gemm(p *Pool, tA, tB blas.Transpose, alpha float64, a, b blas64.General, beta float64, c blas64.General) {
	m, n := c.Rows, c.Cols
	var k int
	if tA == blas.NoTrans {
		k = a.Cols
		if a.Rows != m {
			panic("kernels: Gemm dimension mismatch")
		}
	} else {
		k = a.Rows
		if a.Cols != m {
			panic("kernels: Gemm dimension mismatch")
		}
	}
	if tB == blas.NoTrans {
		if b.Rows != k || b.Cols != n {
			panic("kernels: Gemm dimension mismatch")
		}
	} else if b.Cols != k || b.Rows != n {
		panic("kernels: Gemm dimension mismatch")
	}
	if m == 0 || n == 0 {
		return
	}
	impl := gonum.Implementation{}
	tm, tn, tk := gemmTileM, gemmTileN, gemmTileK
	mt := (m + tm - 1) / tm
	nt := (n + tn - 1) / tn
	tile := func(t int) {
		i0 := (t / nt) * tm
		j0 := (t % nt) * tn
		mi := min(tm, m-i0)
		nj := min(tn, n-j0)
		cs := c.Data[i0*c.Stride+j0:]
		if k == 0 || alpha == 0 {
			// C = beta·C; beta 0 clears (NaN included), as in BLAS.
			for i := range mi {
				row := cs[i*c.Stride : i*c.Stride+nj]
				if beta == 0 {
					clear(row)
				} else if beta != 1 {
					scale(beta, row)
				}
			}
			return
		}
		bt := beta
		for l0 := 0; l0 < k; l0 += tk {
			kl := min(tk, k-l0)
			var as, bs []float64
			if tA == blas.NoTrans {
				as = a.Data[i0*a.Stride+l0:]
			} else {
				as = a.Data[l0*a.Stride+i0:]
			}
			if tB == blas.NoTrans {
				bs = b.Data[l0*b.Stride+j0:]
			} else {
				bs = b.Data[j0*b.Stride+l0:]
			}
			impl.Dgemm(tA, tB, mi, nj, kl, alpha, as, a.Stride, bs, b.Stride, bt, cs, c.Stride)
			bt = 1
		}
	}
	tiles := mt * nt
	if p == nil || tiles == 1 {
		for t := range tiles {
			tile(t)
		}
		return
	}
	p.ParallelFor(tiles, Schedule{Kind: Dynamic, Chunk: 1}, func(lo, hi, _ int) {
		for t := lo; t < hi; t++ {
			tile(t)
		}
	})
}
