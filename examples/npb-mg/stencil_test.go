package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// guarded returns a slice of n random values (NaN when nan is set) inside
// a buffer with guard NaNs of a payload no kernel produces on both sides,
// starting at element off of the buffer (for alignments), and a check
// that the guards are intact.
func guarded(rng *rand.Rand, n, off int, nan bool) ([]float64, func(t *testing.T, what string)) {
	const pad = 8
	guard := math.Float64frombits(0x7ff8dead0000beef)
	buf := make([]float64, off+n+pad)
	for i := range buf {
		buf[i] = guard
	}
	s := buf[off : off+n : off+n]
	for i := range s {
		if nan {
			s[i] = math.NaN()
		} else {
			s[i] = rng.Float64()*2 - 1
		}
	}
	return s, func(t *testing.T, what string) {
		t.Helper()
		for i := range off {
			if math.Float64bits(buf[i]) != math.Float64bits(guard) {
				t.Fatalf("%s: wrote %d elements before the slice", what, off-i)
			}
		}
		for i := off + n; i < len(buf); i++ {
			if math.Float64bits(buf[i]) != math.Float64bits(guard) {
				t.Fatalf("%s: wrote element %d past the slice", what, i-off-n)
			}
		}
	}
}

func sameBits(t *testing.T, what string, got, want []float64) {
	t.Helper()
	for i := range want {
		if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
			t.Fatalf("%s: element %d is %v (%#x), want %v (%#x)", what, i,
				got[i], math.Float64bits(got[i]), want[i], math.Float64bits(want[i]))
		}
	}
}

// TestStencilAVX2 cross-checks the assembly resid and psinv against the Go
// loops bit for bit, on blocks whose row length runs across the vector
// width and its tails, at four alignments, with every element outside the
// interior (ghosts, guards) checked to be untouched.
func TestStencilAVX2(t *testing.T) {
	if !useAVX2 {
		t.Skip("no AVX2")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	a := [4]float64{-8.0 / 3.0, 0, 1.0 / 6.0, 1.0 / 12.0}
	c := [4]float64{-3.0 / 8.0, 1.0 / 32.0, -1.0 / 64.0, 0}
	var sizes [][3]int
	for m1 := 3; m1 <= 21; m1++ {
		sizes = append(sizes, [3]int{m1, 4, 3})
	}
	sizes = append(sizes, [3]int{34, 5, 6}, [3]int{66, 3, 4}, [3]int{130, 4, 4}, [3]int{3, 3, 3})
	for _, m := range sizes {
		for off := range 4 {
			g := grid3{m1: m[0], m2: m[1], m3: m[2]}
			name := fmt.Sprintf("%dx%dx%d/off%d", m[0], m[1], m[2], off)
			t.Run(name, func(t *testing.T) {
				n := g.size()
				u, cu := guarded(rng, n, off, false)
				v, cv := guarded(rng, n, off+1, false)
				want, _ := guarded(rng, n, 0, true)
				got, cg := guarded(rng, n, off+2, true)
				w, cw := guarded(rng, 2*g.m1, off+3, true)
				residGo(u, v, want, g, &a)
				residAVX2(u, v, got, g, &a, w)
				sameBits(t, "resid", got, want)
				cu(t, "resid u")
				cv(t, "resid v")
				cg(t, "resid r")
				cw(t, "resid w")

				sum, mx := residNormAVX2(u, v, got, g, &a, w)
				wsum, wmx := normLocal(want, g)
				sameBits(t, "residNorm", got, want)
				sameBits(t, "residNorm sums", []float64{sum, mx}, []float64{wsum, wmx})
				cg(t, "residNorm r")
				cw(t, "residNorm w")

				// r = v, as mg3P calls it on the coarse levels.
				want = append([]float64(nil), v...)
				residGo(u, want, want, g, &a)
				residAVX2(u, v, v, g, &a, w)
				sameBits(t, "resid in place", v, want)
				cv(t, "resid in place")

				want = append([]float64(nil), u...)
				psinvGo(v, want, g, &c)
				psinvAVX2(v, u, g, &c, w)
				sameBits(t, "psinv", u, want)
				cu(t, "psinv u")
				cv(t, "psinv r")
				cw(t, "psinv w")
			})
		}
	}
}

// TestRunAVX2 runs classes S and W with the assembly rows and with the Go
// loops and wants the same norms to the bit, on one rank and on eight.
func TestRunAVX2(t *testing.T) {
	if !useAVX2 {
		t.Skip("no AVX2")
	}
	defer func() { useAVX2 = true }()
	for _, class := range []byte{'S', 'W'} {
		for _, np := range []int{1, 8} {
			if class == 'W' && np == 8 && testing.Short() {
				continue
			}
			var res [2]Result
			for i, avx := range []bool{true, false} {
				useAVX2 = avx
				commtest.Run(t, np, comm.Config{}, func(ctx context.Context, c *comm.Comm) error {
					r, err := Run(ctx, c, class, io.Discard)
					if c.Rank() == 0 {
						res[i] = r
					}
					return err
				})
			}
			if !res[0].Verified {
				t.Errorf("class %c np %d: not verified", class, np)
			}
			sameBits(t, fmt.Sprintf("class %c np %d: rnm2, rnmu", class, np),
				[]float64{res[0].Rnm2, res[0].Rnmu}, []float64{res[1].Rnm2, res[1].Rnmu})
		}
	}
}
