// Package kernels runs numeric loops on a pool of pinned worker threads.
//
// A [Pool] starts one goroutine per worker, locks each to its own OS thread
// (runtime.LockOSThread) and pins that thread to one CPU of the rank's CPU
// set (sched_setaffinity). [Pool.ParallelFor] splits an index range over the
// workers with static, dynamic or guided scheduling ([Schedule]);
// [ParallelReduce] does the same and combines per-worker partial results.
//
// Memory placement follows the Linux first-touch policy: a page is placed
// on the NUMA node of the CPU that first writes it. [FirstTouch] and
// [MakeLocal] touch a shared slice with exactly the partition that
// [Pool.ParallelFor] uses for a static schedule without chunk size (and that
// the vector kernels below use), so each worker later works on memory of its
// own node; [PerWorker] gives each worker a private slice that it allocates
// and touches itself. See [FirstTouch] for the caveats of doing this in Go.
//
// Numeric kernels (all float64, all running on a pool):
//
//	BLAS 1:  [Axpy], [Dot], [Nrm2], [Scale]
//	STREAM:  [Copy], [StreamScale], [Add], [Triad]
//	Stencil: [Stencil5] (2-D 5-point), [Stencil7] (3-D 7-point)
//	Sparse:  [SpMV] on a [CSR] matrix
//	Dense:   [Gemm], which tiles C over the workers and multiplies each tile
//	         with gonum's serial BLAS kernel (gonum.org/v1/gonum/blas/gonum)
//
// Each has a plain serial reference in the tests, which cross-check them.
// A nil *Pool is valid for every kernel and runs it serially on the calling
// goroutine.
//
// Errors of the caller (length mismatch, negative sizes, use after Close)
// panic with a message starting "kernels: ".
//
// Package kernels imports nothing from the rest of gorun but its own
// subpackages kernels/affinity and kernels/topology; message passing
// programs combine it with comm themselves.
package kernels
