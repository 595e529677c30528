//go:build !amd64

package main

var useAVX2 = false

func residAVX2(u, v, r []float64, g grid3, a *[4]float64, w []float64) { residGo(u, v, r, g, a) }

func residNormAVX2(u, v, r []float64, g grid3, a *[4]float64, w []float64) (sum, mx float64) {
	residGo(u, v, r, g, a)
	return normLocal(r, g)
}

func psinvAVX2(r, u []float64, g grid3, c *[4]float64, w []float64) { psinvGo(r, u, g, c) }
