package kernels

import "sync/atomic"

// Kind selects how ParallelFor hands out iterations.
type Kind int

const (
	// Static splits the range into one contiguous block per worker (sizes
	// differ by at most one), or, with a Chunk size, deals chunks to
	// workers round-robin. Deterministic: the same worker always gets the
	// same indices.
	Static Kind = iota
	// Dynamic lets workers take the next Chunk iterations from a shared
	// counter as they finish.
	Dynamic
	// Guided is dynamic with chunks that start at remaining/(2·workers)
	// and shrink as the range is consumed, never below Chunk.
	Guided
)

func (k Kind) String() string {
	switch k {
	case Static:
		return "static"
	case Dynamic:
		return "dynamic"
	case Guided:
		return "guided"
	}
	return "Kind(?)"
}

// Schedule is a loop schedule. The zero value is Static with one block per
// worker. Chunk 0 means: no chunking for Static, ⌈n/(16·workers)⌉ for
// Dynamic, 1 for Guided (the minimum chunk).
type Schedule struct {
	Kind  Kind
	Chunk int
}

// ParallelFor calls body(lo, hi, w) for disjoint subranges [lo, hi) that
// together cover [0, n), on the workers of p (w is the worker index), and
// returns when all are done. Empty subranges are never passed. Bodies run
// concurrently and must only write disjoint data. A nil pool runs
// body(0, n, 0) on the calling goroutine. Panics in body are re-raised in
// the caller (see Run).
func (p *Pool) ParallelFor(n int, s Schedule, body func(lo, hi, worker int)) {
	if n < 0 {
		panic("kernels: negative range")
	}
	if s.Chunk < 0 {
		panic("kernels: negative chunk size")
	}
	if n == 0 {
		return
	}
	if p == nil {
		body(0, n, 0)
		return
	}
	nw := len(p.workers)
	switch s.Kind {
	case Static:
		if s.Chunk == 0 {
			p.Run(func(w int) {
				lo, hi := blockRange(n, nw, w)
				if lo < hi {
					body(lo, hi, w)
				}
			})
			return
		}
		c := s.Chunk
		p.Run(func(w int) {
			for lo := w * c; lo < n; lo += nw * c {
				body(lo, min(lo+c, n), w)
			}
		})
	case Dynamic:
		c := s.Chunk
		if c == 0 {
			c = max(1, (n+16*nw-1)/(16*nw))
		}
		var next atomic.Int64
		p.Run(func(w int) {
			for {
				hi := int(next.Add(int64(c)))
				lo := hi - c
				if lo >= n {
					return
				}
				body(lo, min(hi, n), w)
			}
		})
	case Guided:
		minC := max(1, s.Chunk)
		var next atomic.Int64
		p.Run(func(w int) {
			for {
				lo := int(next.Load())
				if lo >= n {
					return
				}
				c := max(minC, (n-lo)/(2*nw))
				hi := min(lo+c, n)
				if next.CompareAndSwap(int64(lo), int64(hi)) {
					body(lo, hi, w)
				}
			}
		})
	default:
		panic("kernels: unknown schedule kind")
	}
}

// blockRange is worker w's share of [0, n) under the default static
// schedule: nw contiguous blocks whose sizes differ by at most one.
func blockRange(n, nw, w int) (lo, hi int) {
	q, r := n/nw, n%nw
	lo = w*q + min(w, r)
	hi = lo + q
	if w < r {
		hi++
	}
	return lo, hi
}

// padded keeps per-worker partial results on separate cache lines.
type padded[T any] struct {
	v T
	_ [128]byte
}

// ParallelReduce computes body over [0, n) split as by ParallelFor: each
// worker folds the subranges it gets into its own accumulator, starting from
// identity (acc = body(lo, hi, acc)), and the per-worker results are then
// combined in worker order on the calling goroutine:
// combine(…combine(combine(identity, r0), r1)…, rN). identity must be an
// identity of combine. With the Static schedule the association order is
// fixed for a given worker count, so results are reproducible; with Dynamic
// or Guided they may differ in rounding from run to run.
func ParallelReduce[T any](p *Pool, n int, s Schedule, identity T, body func(lo, hi int, acc T) T, combine func(a, b T) T) T {
	if p == nil {
		if n <= 0 {
			return identity
		}
		return combine(identity, body(0, n, identity))
	}
	parts := make([]padded[T], len(p.workers))
	for i := range parts {
		parts[i].v = identity
	}
	p.ParallelFor(n, s, func(lo, hi, w int) {
		parts[w].v = body(lo, hi, parts[w].v)
	})
	r := identity
	for i := range parts {
		r = combine(r, parts[i].v)
	}
	return r
}
