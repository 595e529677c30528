//go:build !amd64

package collectives

var useAVX = false

func addF64(dst, src []float64) { addGo(dst, src) }

func addF32(dst, src []float32) { addGo(dst, src) }

func add3F64(dst, a, b []float64) { add3Go(dst, a, b) }

func add3F32(dst, a, b []float32) { add3Go(dst, a, b) }
