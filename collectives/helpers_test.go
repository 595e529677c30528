package collectives_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/cmplx"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// Small eager limit and chunks so that rendezvous and multi-chunk paths
// run; small segments so that every segmented algorithm runs many
// segments at the "big" count.
var (
	testCfg  = comm.Config{EagerLimit: 1 << 10, ChunkSize: 3000}
	testNPs  = []int{1, 2, 3, 4, 5, 7, 8, 13, 16}
	counts   = []int{0, 1, 7, 1000, 2600}
	segBytes = 512
)

func nps(t *testing.T) []int {
	if testing.Short() {
		return []int{1, 2, 3, 4, 5, 8}
	}
	return testNPs
}

// forNP runs f on every rank of a world of each test size, over each
// transport of transportsFor.
func forNP(t *testing.T, f func(ctx context.Context, c *comm.Comm) error) {
	for _, n := range nps(t) {
		for _, tr := range transportsFor(n) {
			t.Run(fmt.Sprintf("np=%d/%s", n, tr), func(t *testing.T) {
				commtest.Run(t, n, commtest.WithTransport(testCfg, tr), f)
			})
		}
	}
}

// transportsFor returns the transports a world of n ranks is tested over:
// TCP at every size, shared memory up to 8 ranks, and the mix (pairs each
// way) from 3 to 5 ranks. (Larger in-process shared-memory worlds are
// slow on a 2-CPU machine: every rank's readers sleep on futexes in
// threads of one process.) GORUN_TEST_TRANSPORT, when set, picks one for
// every test (commtest reads it).
func transportsFor(n int) []string {
	switch {
	case os.Getenv("GORUN_TEST_TRANSPORT") != "":
		return []string{""}
	case n >= 3 && n <= 5:
		return commtest.Transports
	case n <= 8:
		return []string{comm.TransportTCP, comm.TransportShm}
	}
	return []string{comm.TransportTCP}
}

// algs returns the algorithms of a collective, each as a forcing option
// (plus the selector's choice, as "auto").
func algs(coll string) map[string][]collectives.Option {
	m := map[string][]collectives.Option{"auto": {collectives.WithSegmentSize(segBytes)}}
	for _, a := range collectives.Algorithms(coll) {
		m[a] = []collectives.Option{collectives.WithAlgorithm(a), collectives.WithSegmentSize(segBytes)}
	}
	return m
}

func closeTo[T comm.Elem](a, b T, tol float64) bool {
	switch x := any(a).(type) {
	case float64:
		y := any(b).(float64)
		return math.Abs(x-y) <= tol*(1+math.Abs(y))
	case float32:
		y := any(b).(float32)
		return math.Abs(float64(x-y)) <= tol*(1+math.Abs(float64(y)))
	case complex128:
		y := any(b).(complex128)
		return cmplx.Abs(x-y) <= tol*(1+cmplx.Abs(y))
	}
	return a == b
}

func compare[T comm.Elem](got, want []T, tol float64) error {
	if len(got) != len(want) {
		return fmt.Errorf("len %d, want %d", len(got), len(want))
	}
	for i := range want {
		if !closeTo(got[i], want[i], tol) {
			return fmt.Errorf("[%d] = %v, want %v", i, got[i], want[i])
		}
	}
	return nil
}

// redCase is a reduction test: an op, data generated per (rank, index)
// and a relative tolerance.
type redCase[T comm.Elem] struct {
	name string
	op   collectives.Op[T]
	gen  func(rank, i int) T
	tol  float64
}

func (rc redCase[T]) data(rank, n int) []T {
	s := make([]T, n)
	for i := range s {
		s[i] = rc.gen(rank, i)
	}
	return s
}

// prefix is the serial reference: data(from) ⊕ ... ⊕ data(to-1), in rank
// order. The logical ops' result is 1 or 0 also for a single operand.
func (rc redCase[T]) prefix(from, to, n int) []T {
	acc := rc.data(from, n)
	for r := from + 1; r < to; r++ {
		rc.op.Fn(acc, rc.data(r, n))
	}
	if strings.HasPrefix(rc.name, "land/") || strings.HasPrefix(rc.name, "lor/") || strings.HasPrefix(rc.name, "lxor/") {
		var zero T
		for i := range acc {
			if acc[i] != zero {
				acc[i] = 1
			}
		}
	}
	return acc
}

// affine is a non-commutative, exactly associative op on pairs (a, b)
// standing for x ↦ a·x + b: (f ⊕ g) = g∘f, with wrapping int64 arithmetic.
func affine() collectives.Op[int64] {
	op := collectives.NewOp("affine", func(dst, src []int64) {
		for i := 0; i+1 < len(dst); i += 2 {
			a1, b1, a2, b2 := dst[i], dst[i+1], src[i], src[i+1]
			dst[i], dst[i+1] = a1*a2, a2*b1+b2
		}
	}, false)
	op.Width = 2
	return op
}

// Reduction cases per type (data width matters only for Width-2 ops, whose
// counts are doubled by the tests).
var (
	f64Sum  = redCase[float64]{"sum/float64", collectives.Sum[float64](), func(r, i int) float64 { return math.Sin(float64(r*131+i)) / 3 }, 1e-12}
	f32Sum  = redCase[float32]{"sum/float32", collectives.Sum[float32](), func(r, i int) float32 { return float32(math.Cos(float64(r*17+i))) / 2 }, 1e-5}
	c128Sum = redCase[complex128]{"sum/complex128", collectives.Sum[complex128](), func(r, i int) complex128 { return complex(float64(r-i%5), float64(i%3)) }, 1e-12}
	i32Max  = redCase[int32]{"max/int32", collectives.Max[int32](), func(r, i int) int32 { return int32((r*7919 + i*104729) % 1000003) }, 0}
	i32Min  = redCase[int32]{"min/int32", collectives.Min[int32](), func(r, i int) int32 { return int32((r*7919 + i*104729) % 1000003) }, 0}
	i64Prod = redCase[int64]{"prod/int64", collectives.Prod[int64](), func(r, i int) int64 { return int64(r + i + 1) }, 0}
	u8Xor   = redCase[uint8]{"bxor/uint8", collectives.BXor[uint8](), func(r, i int) uint8 { return uint8(r*37 + i) }, 0}
	u8Or    = redCase[uint16]{"bor/uint16", collectives.BOr[uint16](), func(r, i int) uint16 { return 1 << ((r + i) % 16) }, 0}
	i8LAnd  = redCase[int8]{"land/int8", collectives.LAnd[int8](), func(r, i int) int8 { return int8((r + i) % 5) }, 0}
	i8LXor  = redCase[int8]{"lxor/int8", collectives.LXor[int8](), func(r, i int) int8 { return int8((r * i) % 3) }, 0}
	minLoc  = redCase[float64]{"minloc/float64", collectives.MinLoc[float64](), func(r, i int) float64 {
		if i%2 == 1 {
			return float64(r)
		}
		return float64((r*31 + i*7) % 11)
	}, 0}
	maxLoc = redCase[int32]{"maxloc/int32", collectives.MaxLoc[int32](), func(r, i int) int32 {
		if i%2 == 1 {
			return int32(r)
		}
		return int32((r*31 + i*7) % 11)
	}, 0}
	affineCase = redCase[int64]{"affine/noncommutative", affine(), func(r, i int) int64 {
		if i%2 == 0 {
			return int64(r*3 + i + 2)
		}
		return int64(r - i)
	}, 0}
	userMul = redCase[float64]{"user-elementwise/float64", collectives.ElementOp("hypot", func(a, b float64) float64 { return math.Hypot(a, b) }, true),
		func(r, i int) float64 { return float64(r + i%4) }, 1e-12}
)

// evenCount rounds n up to the op's width.
func evenCount[T comm.Elem](op collectives.Op[T], n int) int {
	if op.Width > 1 {
		return n * op.Width
	}
	return n
}

// all joins the errors of cases that were all run (every rank runs every
// case in the same order, so a failed check must not skip later cases).
func all(errs ...error) error { return errors.Join(errs...) }

// checker collects check failures and keeps going.
type checker struct{ errs []error }

func (ck *checker) add(err error, format string, args ...any) {
	if err != nil {
		ck.errs = append(ck.errs, fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), err))
	}
}

func (ck *checker) err() error {
	if len(ck.errs) > 5 {
		ck.errs = append(ck.errs[:5], fmt.Errorf("... and %d more", len(ck.errs)-5))
	}
	return errors.Join(ck.errs...)
}

// sorted iterates a map in key order (every rank must run the cases in
// the same order).
func sorted[V any](m map[string]V) func(func(string, V) bool) {
	return func(yield func(string, V) bool) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if !yield(k, m[k]) {
				return
			}
		}
	}
}
