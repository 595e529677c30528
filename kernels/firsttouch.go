package kernels

// FirstTouch zero-fills x so that each element is first written by the
// worker that a static ParallelFor without chunk size (Schedule{}) over
// len(x) elements assigns it to; the vector kernels of this package use the
// same partition. On Linux, with the default memory policy, each page is
// then placed on the NUMA node of the CPU whose worker touched it first, so
// later static loops read local memory.
//
// Caveats: first touch only decides placement for pages not yet touched.
// In Go, a large make() (above a few tens of KiB) is usually served from
// fresh, untouched pages, so calling FirstTouch right after make works; a
// slice carved from recycled heap memory may already have been zeroed (and
// placed) by the allocating thread. Pages are 4 KiB (or 2 MiB with
// transparent huge pages), so elements near block boundaries may share a
// page with the neighbouring worker. Use MakeLocal to allocate and touch in
// one step, and PerWorker for private per-worker buffers.
func FirstTouch[T any](p *Pool, x []T) {
	n := len(x)
	p.ParallelFor(n, Schedule{}, func(lo, hi, _ int) {
		clear(x[lo:hi])
	})
}

// MakeLocal allocates a slice of n zero elements and first-touches it with
// FirstTouch.
func MakeLocal[T any](p *Pool, n int) []T {
	if n < 0 {
		panic("kernels: negative length")
	}
	x := make([]T, n)
	FirstTouch(p, x)
	return x
}

// PerWorker returns one slice per worker; slice w, of length size(w), is
// allocated and zero-filled by worker w itself, so its pages are local to
// that worker's CPU. Use it for scratch buffers and per-worker partial
// arrays.
func PerWorker[T any](p *Pool, size func(worker int) int) [][]T {
	out := make([][]T, p.Workers())
	p.Run(func(w int) {
		s := make([]T, size(w))
		clear(s) // make already zeroes; clear forces the first touch here
		out[w] = s
	})
	return out
}
