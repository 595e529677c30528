// Package npb holds what the NAS Parallel Benchmark ports under examples/npb-*
// share: NPB's linear congruential random number generator (randlc/vranlc),
// its jump-ahead, the class tables, the result banner and small collective
// helpers built on package comm.
package npb

// A is NPB's multiplier 5^13 and Mask46 the modulus 2^46 - 1 of its
// generator.
const (
	A      = 1220703125.0
	Mask46 = 1<<46 - 1
	// R46 is 2^-46, the scale from a state to a uniform in (0,1).
	R46 = 0x1p-46
)

// Randlc advances the state x by one step of x <- a*x mod 2^46 and returns
// the new state times 2^-46. x and a hold exact integers below 2^46; the
// result is bit for bit that of NPB's randlc (the 64-bit product wraps, but
// its low 46 bits are exact).
func Randlc(x *float64, a float64) float64 {
	s := (uint64(*x) * uint64(a)) & Mask46
	*x = float64(s)
	return float64(s) * R46
}

// Vranlc fills y[:n] with the next n numbers of the stream with state x and
// multiplier a, leaving x at the last state, like NPB's vranlc. n = 0 does
// nothing.
func Vranlc(n int, x *float64, a float64, y []float64) {
	if n <= 0 {
		return
	}
	y = y[:n]
	s := uint64(*x)
	m := uint64(a)
	for i := range y {
		s = (s * m) & Mask46
		y[i] = float64(s) * R46
	}
	*x = float64(s)
}

// Pow46 returns a^k mod 2^46 as a float64 state, by binary powering.
func Pow46(a float64, k uint64) float64 {
	r := uint64(1)
	m := uint64(a) & Mask46
	for k > 0 {
		if k&1 != 0 {
			r = (r * m) & Mask46
		}
		m = (m * m) & Mask46
		k >>= 1
	}
	return float64(r)
}

// Skip returns the state reached from seed after k steps of the generator
// with multiplier a: seed * a^k mod 2^46. It performs NPB's jump-ahead
// (repeated squaring of the multiplier, applied for each set bit of k).
func Skip(seed, a float64, k uint64) float64 {
	t1 := seed
	t2 := a
	for k > 0 {
		if k&1 != 0 {
			Randlc(&t1, t2)
		}
		k >>= 1
		if k == 0 {
			break
		}
		Randlc(&t2, t2)
	}
	return t1
}
