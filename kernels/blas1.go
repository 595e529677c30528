package kernels

import "math"

// vec runs body over [0, n) with the static block partition (the one
// FirstTouch uses), or serially on the caller for short vectors.
func (p *Pool) vec(n int, body func(lo, hi int)) {
	if p == nil || n < 2*p.minGrain {
		if n > 0 {
			body(0, n)
		}
		return
	}
	p.ParallelFor(n, Schedule{}, func(lo, hi, _ int) { body(lo, hi) })
}

// vecReduce sums body's results over the static block partition.
func (p *Pool) vecReduce(n int, body func(lo, hi int) float64) float64 {
	if p == nil || n < 2*p.minGrain {
		if n == 0 {
			return 0
		}
		return body(0, n)
	}
	return ParallelReduce(p, n, Schedule{}, 0.0,
		func(lo, hi int, acc float64) float64 { return acc + body(lo, hi) },
		func(a, b float64) float64 { return a + b })
}

func checkLen(a, b int) {
	if a != b {
		panic("kernels: length mismatch")
	}
}

// Axpy computes y[i] += alpha*x[i]. x and y must have equal lengths and
// must not overlap unless they are the same slice.
func Axpy(p *Pool, alpha float64, x, y []float64) {
	checkLen(len(x), len(y))
	p.vec(len(x), func(lo, hi int) { axpy(alpha, x[lo:hi], y[lo:hi]) })
}

func axpy(alpha float64, x, y []float64) {
	y = y[:len(x)]
	i := 0
	for ; i+4 <= len(x); i += 4 {
		xs, ys := x[i:i+4:i+4], y[i:i+4:i+4]
		ys[0] += alpha * xs[0]
		ys[1] += alpha * xs[1]
		ys[2] += alpha * xs[2]
		ys[3] += alpha * xs[3]
	}
	for ; i < len(x); i++ {
		y[i] += alpha * x[i]
	}
}

// Dot returns Σ x[i]*y[i]. The sum is associated per worker block and in
// four interleaved partial sums, so it may differ from a left-to-right sum
// by rounding; the error is bounded by about len(x)·ε·Σ|x[i]·y[i]|.
func Dot(p *Pool, x, y []float64) float64 {
	checkLen(len(x), len(y))
	return p.vecReduce(len(x), func(lo, hi int) float64 { return dot(x[lo:hi], y[lo:hi]) })
}

func dot(x, y []float64) float64 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		xs, ys := x[i:i+4:i+4], y[i:i+4:i+4]
		s0 += xs[0] * ys[0]
		s1 += xs[1] * ys[1]
		s2 += xs[2] * ys[2]
		s3 += xs[3] * ys[3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// Nrm2 returns the Euclidean norm √(Σ x[i]²) without undue overflow or
// underflow: a fast unscaled sum is used when it is safely in range, and a
// scaled two-pass computation otherwise. Inf in x gives +Inf, NaN gives NaN.
// Relative error about len(x)·ε.
func Nrm2(p *Pool, x []float64) float64 {
	ss := p.vecReduce(len(x), func(lo, hi int) float64 { return dot(x[lo:hi], x[lo:hi]) })
	const small = 0x1p-900 // below this, squares of small elements may have underflowed
	if ss > small && !math.IsInf(ss, 0) || math.IsNaN(ss) {
		return math.Sqrt(ss)
	}
	// Scaled path: find the largest magnitude, then sum squares of x/max.
	amax := ParallelReduce(p, len(x), Schedule{}, 0.0, func(lo, hi int, acc float64) float64 {
		for _, v := range x[lo:hi] {
			if a := math.Abs(v); a > acc {
				acc = a
			}
		}
		return acc
	}, math.Max)
	if amax == 0 || math.IsInf(amax, 1) {
		return amax
	}
	sum := ParallelReduce(p, len(x), Schedule{}, 0.0, func(lo, hi int, acc float64) float64 {
		for _, v := range x[lo:hi] {
			t := v / amax
			acc += t * t
		}
		return acc
	}, func(a, b float64) float64 { return a + b })
	return amax * math.Sqrt(sum)
}

// Scale computes x[i] *= alpha.
func Scale(p *Pool, alpha float64, x []float64) {
	p.vec(len(x), func(lo, hi int) { scale(alpha, x[lo:hi]) })
}

func scale(alpha float64, x []float64) {
	i := 0
	for ; i+4 <= len(x); i += 4 {
		xs := x[i : i+4 : i+4]
		xs[0] *= alpha
		xs[1] *= alpha
		xs[2] *= alpha
		xs[3] *= alpha
	}
	for ; i < len(x); i++ {
		x[i] *= alpha
	}
}
