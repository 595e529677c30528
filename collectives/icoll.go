package collectives

import (
	"context"
	"fmt"
	"runtime"
	"strings"

	"github.com/gorun-hpc/gorun/comm"
)

// Non-blocking collectives (MPI-3's MPI_Ibarrier, MPI_Ibcast, ...).
//
// Each I-function starts its blocking counterpart and returns at once with
// a *comm.Request that completes when the operation has completed on this
// rank: Wait, Test, Done, comm.WaitAll and comm.WaitAny work on it as on a
// point-to-point request, and it may be waited on together with them.
// The operation runs the same algorithms, chosen by the same selector and
// options, as the blocking call.
//
// MPI's rules hold:
//   - Every rank starts the collectives of a communicator (blocking and
//     non-blocking, and Dup, Split, Create and NewCart, which are
//     collective too) in the same order.
//   - Several may be in flight at once on one communicator, and blocking
//     collectives and point-to-point calls may be made meanwhile: each
//     non-blocking collective takes, at the call, a duplicate of the
//     communicator (comm.Comm.Dup, which needs no communication) as its
//     own context, so its messages can match nothing else.
//   - The buffers belong to the operation until the request completes:
//     do not read an output nor write an input before then.
//   - Progress does not depend on the caller: the operation runs on a
//     goroutine of its own, started by the call, and advances while the
//     caller computes. The call yields once (runtime.Gosched) so that the
//     operation's first messages leave at once. With GOMAXPROCS >= 2 it
//     then advances in parallel with the caller; with GOMAXPROCS=1 (what
//     gorun gives each rank when the ranks fill the host's CPUs) only
//     whenever the caller blocks, yields or is preempted, as comm's link
//     readers do, unless the operation holds an extra P for its
//     goroutine (WithAsyncProgress, comm.Config.AsyncProgress,
//     GORUN_ASYNC_PROGRESS=1; bench/ddp measures when that pays).
//     Measured in examples/ddp -overlap (np 2, 2-core VM,
//     runtime trace of rank 0, 288 Iallreduces of 4-33 KB started during
//     the backward pass): with GOMAXPROCS=1 and no yield at the call none
//     completed before the step's Wait, the goroutine first ran a median
//     784 µs after the call; with the yield 205 did (median 168 µs from
//     call to completion); with GOMAXPROCS=2, without the yield, 153.
//
// Cost: on one rank the operation runs inside the call (every collective
// is a local copy there) and the request is complete on return; otherwise
// a call takes a Dup of c (0.4 µs, two allocations: no communication)
// and a goroutine whose hand-off to the waiter costs about 2 µs
// (BenchmarkIallreduceOverhead), against 80-160 µs for an 8-byte
// Allreduce between processes on the same 2-core host.
//
// ctx bounds the operation itself (not only a Wait): when it ends first,
// the operation stops and the request fails with an error for which
// errors.Is(err, ctx.Err()) holds; the outputs are then unspecified. The
// request's error is otherwise that of the blocking call: a fault wraps
// comm's sentinel, a bad argument comm.ErrInvalidArgument (a
// "collectives: " panic on the operation's goroutine is turned into such
// an error too, so that it cannot end the process where the caller
// cannot recover it). The request cannot be cancelled (Cancel reports
// false), as in MPI.
//
// The I-functions are safe to call from any goroutine, but the order rule
// above means that the collectives of one communicator are started by one
// goroutine of each rank, or in an order the program fixes.

// start runs fn on a duplicate of c, on its own goroutine, and returns the
// request that fn's result completes. On one rank, where every collective
// is a local copy that cannot wait for anyone, fn runs at once on c
// itself and the request is complete on return.
func start(ctx context.Context, c *comm.Comm, name string, opts []Option, fn func(ctx context.Context, d *comm.Comm) error) *comm.Request {
	if c.Size() == 1 {
		r, complete := comm.StartRequest(c)
		run(ctx, c, name, fn, complete)
		return r
	}
	d := c.Dup() // the operation's own context, taken in call order
	r, complete := comm.StartRequest(c)
	if asyncProgress(c, opts) {
		progressAcquire()
		done := complete
		complete = func(err error) {
			progressRelease()
			done(err)
		}
	}
	go run(ctx, d, name, fn, complete)
	runtime.Gosched()
	return r
}

// asyncProgress reports whether an operation on c with opts holds the
// extra P (WithAsyncProgress, else comm.Config.AsyncProgress).
func asyncProgress(c *comm.Comm, opts []Option) bool {
	var async int8
	if len(opts) > 0 {
		cfg := configs.Get().(*config)
		for _, o := range opts {
			o(cfg)
		}
		async = cfg.async
		*cfg = config{}
		configs.Put(cfg)
	}
	if async != 0 {
		return async > 0
	}
	return c.AsyncProgress()
}

// run runs fn on d and completes the request with its error, turning a
// "collectives: " panic (a bad argument found deep in an algorithm) into
// an error wrapping comm.ErrInvalidArgument.
func run(ctx context.Context, d *comm.Comm, name string, fn func(ctx context.Context, d *comm.Comm) error, complete func(error)) {
	var err error
	defer func() {
		if v := recover(); v != nil {
			s, ok := v.(string)
			if !ok || !strings.HasPrefix(s, "collectives: ") {
				panic(v) // a bug, not an argument
			}
			err = fmt.Errorf("%w: %s", comm.ErrInvalidArgument, strings.TrimPrefix(s, "collectives: "))
		}
		if err != nil && !strings.Contains(err.Error(), name) {
			err = fmt.Errorf("collectives: %s: %w", name, err)
		}
		complete(err)
	}()
	err = fn(ctx, d)
}

// Ibarrier starts a Barrier (MPI_Ibarrier): its request completes once
// every rank of c has called Ibarrier or Barrier for this operation.
func Ibarrier(ctx context.Context, c *comm.Comm, opts ...Option) *comm.Request {
	return start(ctx, c, "Ibarrier", opts, func(ctx context.Context, d *comm.Comm) error {
		return Barrier(ctx, d, append(opts, nonBlocking)...)
	})
}

// Ibcast starts a Bcast of root's buf (MPI_Ibcast).
func Ibcast[T comm.Elem](ctx context.Context, c *comm.Comm, buf []T, root int, opts ...Option) *comm.Request {
	return start(ctx, c, "Ibcast", opts, func(ctx context.Context, d *comm.Comm) error {
		return Bcast(ctx, d, buf, root, append(opts, nonBlocking)...)
	})
}

// Ireduce starts a Reduce into root's dst (MPI_Ireduce).
func Ireduce[T comm.Elem](ctx context.Context, c *comm.Comm, dst, src []T, op Op[T], root int, opts ...Option) *comm.Request {
	return start(ctx, c, "Ireduce", opts, func(ctx context.Context, d *comm.Comm) error {
		return Reduce(ctx, d, dst, src, op, root, opts...)
	})
}

// Iallreduce starts an Allreduce (MPI_Iallreduce).
func Iallreduce[T comm.Elem](ctx context.Context, c *comm.Comm, dst, src []T, op Op[T], opts ...Option) *comm.Request {
	return start(ctx, c, "Iallreduce", opts, func(ctx context.Context, d *comm.Comm) error {
		return Allreduce(ctx, d, dst, src, op, append(opts, nonBlocking)...)
	})
}

// Igather starts a Gather to root (MPI_Igather).
func Igather[T comm.Elem](ctx context.Context, c *comm.Comm, dst, src []T, root int, opts ...Option) *comm.Request {
	return start(ctx, c, "Igather", opts, func(ctx context.Context, d *comm.Comm) error {
		return Gather(ctx, d, dst, src, root, opts...)
	})
}

// Igatherv starts a Gatherv to root (MPI_Igatherv). counts and displs
// belong to the operation until it completes, like the buffers.
func Igatherv[T comm.Elem](ctx context.Context, c *comm.Comm, dst []T, counts, displs []int, src []T, root int, opts ...Option) *comm.Request {
	return start(ctx, c, "Igatherv", opts, func(ctx context.Context, d *comm.Comm) error {
		return Gatherv(ctx, d, dst, counts, displs, src, root, opts...)
	})
}

// Iscatter starts a Scatter from root (MPI_Iscatter).
func Iscatter[T comm.Elem](ctx context.Context, c *comm.Comm, dst, src []T, root int, opts ...Option) *comm.Request {
	return start(ctx, c, "Iscatter", opts, func(ctx context.Context, d *comm.Comm) error {
		return Scatter(ctx, d, dst, src, root, opts...)
	})
}

// Iscatterv starts a Scatterv from root (MPI_Iscatterv). counts and
// displs belong to the operation until it completes.
func Iscatterv[T comm.Elem](ctx context.Context, c *comm.Comm, dst, src []T, counts, displs []int, root int, opts ...Option) *comm.Request {
	return start(ctx, c, "Iscatterv", opts, func(ctx context.Context, d *comm.Comm) error {
		return Scatterv(ctx, d, dst, src, counts, displs, root, opts...)
	})
}

// Iallgather starts an Allgather (MPI_Iallgather).
func Iallgather[T comm.Elem](ctx context.Context, c *comm.Comm, dst, src []T, opts ...Option) *comm.Request {
	return start(ctx, c, "Iallgather", opts, func(ctx context.Context, d *comm.Comm) error {
		return Allgather(ctx, d, dst, src, opts...)
	})
}

// Iallgatherv starts an Allgatherv (MPI_Iallgatherv). counts and displs
// belong to the operation until it completes.
func Iallgatherv[T comm.Elem](ctx context.Context, c *comm.Comm, dst []T, counts, displs []int, src []T, opts ...Option) *comm.Request {
	return start(ctx, c, "Iallgatherv", opts, func(ctx context.Context, d *comm.Comm) error {
		return Allgatherv(ctx, d, dst, counts, displs, src, opts...)
	})
}

// Ialltoall starts an Alltoall (MPI_Ialltoall).
func Ialltoall[T comm.Elem](ctx context.Context, c *comm.Comm, dst, src []T, opts ...Option) *comm.Request {
	return start(ctx, c, "Ialltoall", opts, func(ctx context.Context, d *comm.Comm) error {
		return Alltoall(ctx, d, dst, src, opts...)
	})
}

// Ialltoallv starts an Alltoallv (MPI_Ialltoallv). The count and
// displacement slices belong to the operation until it completes.
func Ialltoallv[T comm.Elem](ctx context.Context, c *comm.Comm, dst []T, rcounts, rdispls []int, src []T, scounts, sdispls []int, opts ...Option) *comm.Request {
	return start(ctx, c, "Ialltoallv", opts, func(ctx context.Context, d *comm.Comm) error {
		return Alltoallv(ctx, d, dst, rcounts, rdispls, src, scounts, sdispls, opts...)
	})
}

// IreduceScatter starts a ReduceScatter (MPI_Ireduce_scatter). counts
// belongs to the operation until it completes.
func IreduceScatter[T comm.Elem](ctx context.Context, c *comm.Comm, dst, src []T, counts []int, op Op[T], opts ...Option) *comm.Request {
	return start(ctx, c, "IreduceScatter", opts, func(ctx context.Context, d *comm.Comm) error {
		return ReduceScatter(ctx, d, dst, src, counts, op, opts...)
	})
}

// IreduceScatterBlock starts a ReduceScatterBlock
// (MPI_Ireduce_scatter_block).
func IreduceScatterBlock[T comm.Elem](ctx context.Context, c *comm.Comm, dst, src []T, op Op[T], opts ...Option) *comm.Request {
	return start(ctx, c, "IreduceScatterBlock", opts, func(ctx context.Context, d *comm.Comm) error {
		return ReduceScatterBlock(ctx, d, dst, src, op, opts...)
	})
}

// Iscan starts a Scan (MPI_Iscan).
func Iscan[T comm.Elem](ctx context.Context, c *comm.Comm, dst, src []T, op Op[T], opts ...Option) *comm.Request {
	return start(ctx, c, "Iscan", opts, func(ctx context.Context, d *comm.Comm) error {
		return Scan(ctx, d, dst, src, op, opts...)
	})
}

// Iexscan starts an Exscan (MPI_Iexscan).
func Iexscan[T comm.Elem](ctx context.Context, c *comm.Comm, dst, src []T, op Op[T], opts ...Option) *comm.Request {
	return start(ctx, c, "Iexscan", opts, func(ctx context.Context, d *comm.Comm) error {
		return Exscan(ctx, d, dst, src, op, opts...)
	})
}
