package kernels

// The four STREAM kernels (McCalpin's benchmark names). Each partitions the
// range statically, as FirstTouch does, so data first-touched with
// FirstTouch or MakeLocal is processed by the worker that placed it.
// Destination and sources must have equal lengths; the destination must not
// overlap a source.

// Copy sets dst[i] = src[i] (STREAM "Copy").
func Copy(p *Pool, dst, src []float64) {
	checkLen(len(dst), len(src))
	p.vec(len(dst), func(lo, hi int) { copy(dst[lo:hi], src[lo:hi]) })
}

// StreamScale sets dst[i] = q*src[i] (STREAM "Scale").
func StreamScale(p *Pool, dst, src []float64, q float64) {
	checkLen(len(dst), len(src))
	p.vec(len(dst), func(lo, hi int) { scaleTo(dst[lo:hi], src[lo:hi], q) })
}

// Add sets dst[i] = a[i] + b[i] (STREAM "Add").
func Add(p *Pool, dst, a, b []float64) {
	checkLen(len(dst), len(a))
	checkLen(len(dst), len(b))
	p.vec(len(dst), func(lo, hi int) { addTo(dst[lo:hi], a[lo:hi], b[lo:hi]) })
}

// Triad sets dst[i] = b[i] + q*c[i] (STREAM "Triad").
func Triad(p *Pool, dst, b, c []float64, q float64) {
	checkLen(len(dst), len(b))
	checkLen(len(dst), len(c))
	p.vec(len(dst), func(lo, hi int) { triad(dst[lo:hi], b[lo:hi], c[lo:hi], q) })
}

func scaleTo(dst, src []float64, q float64) {
	src = src[:len(dst)]
	i := 0
	for ; i+4 <= len(dst); i += 4 {
		d, s := dst[i:i+4:i+4], src[i:i+4:i+4]
		d[0] = q * s[0]
		d[1] = q * s[1]
		d[2] = q * s[2]
		d[3] = q * s[3]
	}
	for ; i < len(dst); i++ {
		dst[i] = q * src[i]
	}
}

func addTo(dst, a, b []float64) {
	a, b = a[:len(dst)], b[:len(dst)]
	i := 0
	for ; i+4 <= len(dst); i += 4 {
		d, x, y := dst[i:i+4:i+4], a[i:i+4:i+4], b[i:i+4:i+4]
		d[0] = x[0] + y[0]
		d[1] = x[1] + y[1]
		d[2] = x[2] + y[2]
		d[3] = x[3] + y[3]
	}
	for ; i < len(dst); i++ {
		dst[i] = a[i] + b[i]
	}
}

func triadGo(dst, b, c []float64, q float64) {
	b, c = b[:len(dst)], c[:len(dst)]
	i := 0
	for ; i+4 <= len(dst); i += 4 {
		d, x, y := dst[i:i+4:i+4], b[i:i+4:i+4], c[i:i+4:i+4]
		d[0] = x[0] + q*y[0]
		d[1] = x[1] + q*y[1]
		d[2] = x[2] + q*y[2]
		d[3] = x[3] + q*y[3]
	}
	for ; i < len(dst); i++ {
		dst[i] = b[i] + q*c[i]
	}
}
