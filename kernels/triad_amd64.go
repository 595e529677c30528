package kernels

import "golang.org/x/sys/cpu"

// useAVX2 selects the assembly triad; tests switch it off to cross-check
// the portable loop.
var useAVX2 = cpu.X86.HasAVX2

//go:noescape
func triadAVX2(dst, b, c []float64, q float64)

// triad sets dst[i] = b[i] + q*c[i].
func triad(dst, b, c []float64, q float64) {
	if useAVX2 && len(dst) >= 16 {
		m := len(dst) &^ 15
		triadAVX2(dst[:m], b[:m], c[:m], q)
		dst, b, c = dst[m:], b[m:], c[m:]
	}
	triadGo(dst, b, c, q)
}
