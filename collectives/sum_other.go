//go:build !amd64

package collectives

var useAVX = false

func addF64(dst, src []float64) { addGo(dst, src) }

func addF32(dst, src []float32) { addGo(dst, src) }
