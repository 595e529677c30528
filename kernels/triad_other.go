//go:build !amd64

package kernels

var useAVX2 = false

// triad sets dst[i] = b[i] + q*c[i].
func triad(dst, b, c []float64, q float64) { triadGo(dst, b, c, q) }
