package collectives

import "golang.org/x/sys/cpu"

// useAVX selects the assembly element-wise sums of float64 and float32;
// tests switch it off to cross-check the Go loop.
var useAVX = cpu.X86.HasAVX

//go:noescape
func addF64AVX(dst, src []float64)

//go:noescape
func addF32AVX(dst, src []float32)

//go:noescape
func add3F64AVX(dst, a, b []float64)

//go:noescape
func add3F32AVX(dst, a, b []float32)

// addF64 sets dst[i] += src[i] (len(src) >= len(dst)).
func addF64(dst, src []float64) {
	if useAVX && len(dst) >= 16 {
		m := len(dst) &^ 15
		addF64AVX(dst[:m], src[:m])
		dst, src = dst[m:], src[m:]
	}
	addGo(dst, src)
}

// addF32 sets dst[i] += src[i] (len(src) >= len(dst)).
func addF32(dst, src []float32) {
	if useAVX && len(dst) >= 32 {
		m := len(dst) &^ 31
		addF32AVX(dst[:m], src[:m])
		dst, src = dst[m:], src[m:]
	}
	addGo(dst, src)
}

// add3F64 sets dst[i] = a[i] + b[i] (len(a), len(b) >= len(dst)).
func add3F64(dst, a, b []float64) {
	if useAVX && len(dst) >= 16 {
		m := len(dst) &^ 15
		add3F64AVX(dst[:m], a[:m], b[:m])
		dst, a, b = dst[m:], a[m:], b[m:]
	}
	add3Go(dst, a, b)
}

// add3F32 sets dst[i] = a[i] + b[i] (len(a), len(b) >= len(dst)).
func add3F32(dst, a, b []float32) {
	if useAVX && len(dst) >= 32 {
		m := len(dst) &^ 31
		add3F32AVX(dst[:m], a[:m], b[:m])
		dst, a, b = dst[m:], a[m:], b[m:]
	}
	add3Go(dst, a, b)
}
