package kernels

import "sort"

// CSR is a sparse matrix in compressed sparse row form: the nonzeros of row
// r are Val[RowPtr[r]:RowPtr[r+1]] in columns ColIdx[RowPtr[r]:RowPtr[r+1]].
// RowPtr has Rows+1 nondecreasing entries starting at 0. A CSR is only read
// by the kernels and may be shared between goroutines.
type CSR struct {
	Rows, Cols int
	RowPtr     []int
	ColIdx     []int
	Val        []float64
}

// check panics on a structurally invalid matrix (cheap checks only: sizes
// and end pointers; column indices are bounds-checked as they are used).
func (a *CSR) check() {
	if a.Rows < 0 || a.Cols < 0 || len(a.RowPtr) != a.Rows+1 || a.RowPtr[0] != 0 ||
		a.RowPtr[a.Rows] != len(a.ColIdx) || len(a.ColIdx) != len(a.Val) {
		panic("kernels: malformed CSR matrix")
	}
}

// SpMV computes dst = A·x. len(dst) must be A.Rows and len(x) A.Cols; dst
// must not overlap x. Rows are split into one contiguous range per worker
// with about equal numbers of nonzeros plus rows, so skewed matrices stay
// balanced.
func SpMV(p *Pool, dst []float64, a *CSR, x []float64) {
	a.check()
	checkLen(len(dst), a.Rows)
	checkLen(len(x), a.Cols)
	run := func(r0, r1 int) {
		for r := r0; r < r1; r++ {
			lo, hi := a.RowPtr[r], a.RowPtr[r+1]
			cols, vals := a.ColIdx[lo:hi], a.Val[lo:hi]
			var s float64
			for k, c := range cols {
				s += vals[k] * x[c]
			}
			dst[r] = s
		}
	}
	nnz := len(a.Val)
	if p == nil || nnz+a.Rows < 2*p.minGrain {
		run(0, a.Rows)
		return
	}
	nw := p.Workers()
	total := nnz + a.Rows
	// Row where the cumulative cost RowPtr[r]+r reaches target.
	split := func(target int) int {
		return sort.Search(a.Rows, func(r int) bool { return a.RowPtr[r]+r >= target })
	}
	p.Run(func(w int) {
		r0 := split(total * w / nw)
		r1 := split(total * (w + 1) / nw)
		if w == nw-1 {
			r1 = a.Rows
		}
		run(r0, r1)
	})
}
