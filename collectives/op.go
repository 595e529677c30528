package collectives

import (
	"fmt"
	"strings"
	"unsafe"

	"github.com/gorun-hpc/gorun/comm"
)

// Integer is the set of integer element types (for the bitwise operations).
type Integer interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 |
		~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~uintptr
}

// Real is the set of ordered element types (for Min, Max, MinLoc, MaxLoc).
type Real interface {
	Integer | ~float32 | ~float64
}

// Op is a reduction operation on slices of T. Fn combines src into dst
// element by element with dst as the left operand: dst[i] = dst[i] ⊕ src[i].
// Fn must not keep dst or src, and must not modify src.
//
// Commutative declares that a ⊕ b = b ⊕ a. Every operation must be
// associative (up to rounding for floating point); a non-commutative
// operation gets MPI's rank order result r0 ⊕ r1 ⊕ ... ⊕ r(p-1), and the
// collectives then use only the algorithms that keep that order.
//
// Width is the number of consecutive elements that form one operand
// (0 and 1 mean element-wise; MinLoc and MaxLoc use 2: value, index).
// Buffer lengths given to reductions must be multiples of Width, and the
// algorithms split buffers only at multiples of Width. A length that is
// not, or an Op whose Fn is nil, makes the reduction return an error
// wrapping comm.ErrInvalidArgument before any communication.
type Op[T comm.Elem] struct {
	Name        string
	Fn          func(dst, src []T)
	Commutative bool
	Width       int

	// fn3, when set, computes dst[i] = a[i] ⊕ b[i] in one pass (the
	// built-in Sum has one): see combineInto. It stands for the Fn value
	// whose funcID is fn3For, and is not used once Fn is replaced.
	fn3    func(dst, a, b []T)
	fn3For unsafe.Pointer

	// norm, when set, makes a result canonical (the logical ops' 1 or
	// 0): see finish. Like fn3 it belongs to the Fn whose funcID is
	// normFor.
	norm    func(dst []T)
	normFor unsafe.Pointer
}

// funcID identifies a func value (the closure it refers to): copies of one
// value share it, and a func assigned in its place has another. It reads
// the pointer a func value consists of, without allocating (reflect's
// Pointer would box the value).
func funcID[F any](f F) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&f)) }

// NewOp returns a user-defined reduction from a slice function (see Op for
// the contract of fn).
func NewOp[T comm.Elem](name string, fn func(dst, src []T), commutative bool) Op[T] {
	return Op[T]{Name: name, Fn: fn, Commutative: commutative}
}

// ElementOp returns a user-defined reduction from a function of two
// elements, applied as dst[i] = f(dst[i], src[i]).
func ElementOp[T comm.Elem](name string, f func(a, b T) T, commutative bool) Op[T] {
	return Op[T]{Name: name, Commutative: commutative, Fn: func(dst, src []T) {
		src = src[:len(dst)]
		for i := range dst {
			dst[i] = f(dst[i], src[i])
		}
	}}
}

func (op Op[T]) width() int {
	if op.Width <= 1 {
		return 1
	}
	return op.Width
}

// valid reports an Op without Fn, or a buffer length n that is not a
// multiple of the Op's Width, as an error wrapping comm.ErrInvalidArgument.
// The error quotes a copy of op.Name: handing op.Name itself to fmt would
// make every Op passed to a collective escape, and its Fn closure with it
// (an allocation per call for ops built at the call).
func (op Op[T]) valid(what string, n int) error {
	if op.Fn == nil {
		return fmt.Errorf("Op %q has no Fn: %w", strings.Clone(op.Name), comm.ErrInvalidArgument)
	}
	if w := op.width(); n%w != 0 {
		return fmt.Errorf("%s = %d is not a multiple of Op %q's Width %d: %w", what, n, strings.Clone(op.Name), w, comm.ErrInvalidArgument)
	}
	return nil
}

// finish makes a result of op canonical: the logical operations map every
// element to 1 or 0, which their Fn does only when it combines two
// operands, so a result that is one rank's contribution (np 1, Scan on
// rank 0, Exscan on rank 1) needs it too. Other ops leave dst as it is.
func (op Op[T]) finish(dst []T) {
	if op.norm != nil && funcID(op.Fn) == op.normFor {
		op.norm(dst)
	}
}

// normTruth maps every element to 1 (non-zero) or 0.
func normTruth[T comm.Elem](dst []T) {
	for i, x := range dst {
		dst[i] = truth[T](x != 0)
	}
}

// logical returns a logical op: Fn with the normalisation finish applies.
func logical[T comm.Elem](name string, fn func(dst, src []T)) Op[T] {
	op := Op[T]{Name: name, Commutative: true, Fn: fn, norm: normTruth[T]}
	op.normFor = funcID(op.Fn)
	return op
}

// Sum is addition. Floating-point sums are rounded at every step, so the
// result depends on the algorithm's combination order (see the package
// documentation for the error bound).
func Sum[T comm.Elem]() Op[T] {
	op := Op[T]{Name: "sum", Commutative: true, Fn: func(dst, src []T) {
		// float64 and float32 sums run vectorised (AVX) where the CPU
		// has it: still one rounding per element, so the same result.
		switch d := any(dst).(type) {
		case []float64:
			addF64(d, any(src).([]float64))
		case []float32:
			addF32(d, any(src).([]float32))
		default:
			addGo(dst, src)
		}
	}, fn3: func(dst, a, b []T) {
		switch d := any(dst).(type) {
		case []float64:
			add3F64(d, any(a).([]float64), any(b).([]float64))
		case []float32:
			add3F32(d, any(a).([]float32), any(b).([]float32))
		default:
			add3Go(dst, a, b)
		}
	}}
	op.fn3For = funcID(op.Fn)
	return op
}

// addGo sets dst[i] += src[i] (len(src) >= len(dst)).
func addGo[T comm.Elem](dst, src []T) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] += src[i]
	}
}

// add3Go sets dst[i] = a[i] + b[i] (len(a), len(b) >= len(dst)).
func add3Go[T comm.Elem](dst, a, b []T) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] = a[i] + b[i]
	}
}

// Prod is multiplication.
func Prod[T comm.Elem]() Op[T] {
	return Op[T]{Name: "prod", Commutative: true, Fn: func(dst, src []T) {
		src = src[:len(dst)]
		for i := range dst {
			dst[i] *= src[i]
		}
	}}
}

// Min is the minimum. For floating point, a NaN operand on the left is
// kept and one on the right is ignored, so NaNs are not reliably
// propagated; use a user-defined op if that matters.
func Min[T Real]() Op[T] {
	return Op[T]{Name: "min", Commutative: true, Fn: func(dst, src []T) {
		src = src[:len(dst)]
		for i := range dst {
			if src[i] < dst[i] {
				dst[i] = src[i]
			}
		}
	}}
}

// Max is the maximum (NaNs as for Min).
func Max[T Real]() Op[T] {
	return Op[T]{Name: "max", Commutative: true, Fn: func(dst, src []T) {
		src = src[:len(dst)]
		for i := range dst {
			if src[i] > dst[i] {
				dst[i] = src[i]
			}
		}
	}}
}

// MinLoc works on pairs (value, location) stored as consecutive elements
// of the buffer: [v0, l0, v1, l1, ...] (like MPI's MPI_2INT and
// MPI_2DOUBLE_PRECISION). It keeps the smaller value and, on a tie, the
// smaller location. The location is typically the rank or an index; it must
// be exactly representable in T (up to 2^24 for float32, 2^53 for float64).
func MinLoc[T Real]() Op[T] {
	return Op[T]{Name: "minloc", Commutative: true, Width: 2, Fn: func(dst, src []T) {
		src = src[:len(dst)]
		for i := 0; i+1 < len(dst); i += 2 {
			if src[i] < dst[i] || (src[i] == dst[i] && src[i+1] < dst[i+1]) {
				dst[i], dst[i+1] = src[i], src[i+1]
			}
		}
	}}
}

// MaxLoc is MinLoc for the largest value (ties keep the smaller location).
func MaxLoc[T Real]() Op[T] {
	return Op[T]{Name: "maxloc", Commutative: true, Width: 2, Fn: func(dst, src []T) {
		src = src[:len(dst)]
		for i := 0; i+1 < len(dst); i += 2 {
			if src[i] > dst[i] || (src[i] == dst[i] && src[i+1] < dst[i+1]) {
				dst[i], dst[i+1] = src[i], src[i+1]
			}
		}
	}}
}

func truth[T comm.Elem](b bool) T {
	if b {
		return 1
	}
	return 0
}

// LAnd is logical and: non-zero is true; the result is 1 or 0 on every
// rank count, also where it is a single rank's contribution (np 1, Scan on
// rank 0).
func LAnd[T comm.Elem]() Op[T] {
	return logical("land", func(dst, src []T) {
		src = src[:len(dst)]
		for i := range dst {
			dst[i] = truth[T](dst[i] != 0 && src[i] != 0)
		}
	})
}

// LOr is logical or: non-zero is true; the result is 1 or 0 (as for LAnd).
func LOr[T comm.Elem]() Op[T] {
	return logical("lor", func(dst, src []T) {
		src = src[:len(dst)]
		for i := range dst {
			dst[i] = truth[T](dst[i] != 0 || src[i] != 0)
		}
	})
}

// LXor is logical exclusive or: non-zero is true; the result is 1 or 0 (as
// for LAnd).
func LXor[T comm.Elem]() Op[T] {
	return logical("lxor", func(dst, src []T) {
		src = src[:len(dst)]
		for i := range dst {
			dst[i] = truth[T]((dst[i] != 0) != (src[i] != 0))
		}
	})
}

// BAnd is bitwise and.
func BAnd[T Integer]() Op[T] {
	return Op[T]{Name: "band", Commutative: true, Fn: func(dst, src []T) {
		src = src[:len(dst)]
		for i := range dst {
			dst[i] &= src[i]
		}
	}}
}

// BOr is bitwise or.
func BOr[T Integer]() Op[T] {
	return Op[T]{Name: "bor", Commutative: true, Fn: func(dst, src []T) {
		src = src[:len(dst)]
		for i := range dst {
			dst[i] |= src[i]
		}
	}}
}

// BXor is bitwise exclusive or.
func BXor[T Integer]() Op[T] {
	return Op[T]{Name: "bxor", Commutative: true, Fn: func(dst, src []T) {
		src = src[:len(dst)]
		for i := range dst {
			dst[i] ^= src[i]
		}
	}}
}

// applyLeft computes dst = left ⊕ dst (left is the left operand), leaving
// left unchanged. scratch must hold len(dst) elements when op is not
// commutative.
func applyLeft[T comm.Elem](op Op[T], dst, left, scratch []T) {
	if op.Commutative {
		op.Fn(dst, left)
		return
	}
	s := scratch[:len(dst)]
	copy(s, left)
	op.Fn(s, dst)
	copy(dst, s)
}

// combineInto computes dst = a ⊕ b (a is the left operand) and leaves a
// and b unchanged unless dst is one of them. dst may be a or b (the same
// start, the same length); otherwise it must not overlap either. With a
// separate dst this replaces a copy and a combination by one pass when the
// op has one (Sum), so a rank's first reduction can read its send buffer
// instead of a copy of it. scratch as for applyLeft.
func combineInto[T comm.Elem](op Op[T], dst, a, b, scratch []T) {
	switch {
	case len(dst) == 0:
	case &dst[0] == &a[0]:
		op.Fn(dst, b)
	case &dst[0] == &b[0]:
		applyLeft(op, dst, a, scratch)
	case op.fn3 != nil && funcID(op.Fn) == op.fn3For:
		op.fn3(dst, a, b)
	default:
		copy(dst, a)
		op.Fn(dst, b)
	}
}

// scratchFor returns a buffer of n elements for applyLeft, or nil when op
// is commutative.
func scratchFor[T comm.Elem](op Op[T], n int) []T {
	if op.Commutative {
		return nil
	}
	return make([]T, n)
}
