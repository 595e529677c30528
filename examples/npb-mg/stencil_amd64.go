package main

import "golang.org/x/sys/cpu"

// useAVX2 selects the assembly rows of resid and psinv; tests switch it
// off to cross-check the portable loops.
var useAVX2 = cpu.X86.HasAVX2

// The assembly rows (stencil_amd64.s) compute each point with the same
// operations in the same order as the Go loops (no FMA), four points per
// AVX2 vector. They trust their callers below for the lengths: b is the
// 3 x 3 rows around a centre row of length n1 in planes of p points, the
// rows r, v, c, u, q have length n1 and w has 2*n1 elements.

//go:noescape
func sumsAVX2(w, b []float64, n1, p int)

//go:noescape
func residRowAVX2(r, v, c, w []float64, a *[4]float64)

//go:noescape
func residNormRowAVX2(r, v, c, w []float64, a *[4]float64, acc *[2]float64)

//go:noescape
func psinvRowAVX2(u, q, w []float64, c *[4]float64)

// residAVX2 is residGo with assembly rows: for each interior row, the
// neighbour sums u1 and u2 into w, then the update of r's row.
func residAVX2(u, v, r []float64, g grid3, a *[4]float64, w []float64) {
	n1, n2, n3 := g.m1, g.m2, g.m3
	p := n1 * n2
	w = w[:2*n1]
	for i3 := 1; i3 < n3-1; i3++ {
		for i2 := 1; i2 < n2-1; i2++ {
			o := n1 * (i2 + n2*i3)
			sumsAVX2(w, u[o-n1-p:o+2*n1+p], n1, p)
			residRowAVX2(r[o:o+n1], v[o:o+n1], u[o:o+n1], w, a)
		}
	}
}

// residNormAVX2 is residAVX2 that also returns normLocal(r, g), summed
// row by row while each row of r is in registers.
func residNormAVX2(u, v, r []float64, g grid3, a *[4]float64, w []float64) (sum, mx float64) {
	n1, n2, n3 := g.m1, g.m2, g.m3
	p := n1 * n2
	w = w[:2*n1]
	var acc [2]float64
	for i3 := 1; i3 < n3-1; i3++ {
		for i2 := 1; i2 < n2-1; i2++ {
			o := n1 * (i2 + n2*i3)
			sumsAVX2(w, u[o-n1-p:o+2*n1+p], n1, p)
			residNormRowAVX2(r[o:o+n1], v[o:o+n1], u[o:o+n1], w, a, &acc)
		}
	}
	return acc[0], acc[1]
}

// psinvAVX2 is psinvGo with assembly rows.
func psinvAVX2(r, u []float64, g grid3, c *[4]float64, w []float64) {
	n1, n2, n3 := g.m1, g.m2, g.m3
	p := n1 * n2
	w = w[:2*n1]
	for i3 := 1; i3 < n3-1; i3++ {
		for i2 := 1; i2 < n2-1; i2++ {
			o := n1 * (i2 + n2*i3)
			sumsAVX2(w, r[o-n1-p:o+2*n1+p], n1, p)
			psinvRowAVX2(u[o:o+n1], r[o:o+n1], w, c)
		}
	}
}
