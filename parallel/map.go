package parallel

import (
	"context"
	"math"
	"sync"
	"sync/atomic"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/kernels"
)

// MapOption configures Map, MapValue and MapRange. The zero configuration
// is static blocks, results on rank 0, no worker pool.
type MapOption func(*mapConfig)

type mapConfig struct {
	root  int
	all   bool
	chunk int
	pool  *kernels.Pool
}

// Root makes rank r hold the input and receive the results (default 0).
func Root(r int) MapOption { return func(m *mapConfig) { m.root = r } }

// ToAll returns the results on every rank, not only on the root.
func ToAll() MapOption { return func(m *mapConfig) { m.all = true } }

// Chunk makes the map dynamic, like Pool.map's chunksize: the root hands
// out chunks of n elements to whichever rank asks next (and works on
// chunks itself between requests), so uneven work balances. n ≤ 0 means
// static blocks: rank r gets one contiguous block, sizes differing by at
// most one, and no message moves until the results are gathered.
func Chunk(n int) MapOption { return func(m *mapConfig) { m.chunk = n } }

// WithPool runs each rank's share on the pinned worker threads of p
// (kernels.Pool); f is then called from several goroutines at once. A nil
// pool (the default) calls f from the calling goroutine.
func WithPool(p *kernels.Pool) MapOption { return func(m *mapConfig) { m.pool = p } }

// Map applies f to every element of src across the ranks of c, like
// multiprocessing's Pool.map, and returns the results in input order on
// the root (nil elsewhere), or on every rank with ToAll. Only the root's
// src is read (the others may pass nil); elements and results travel as
// raw memory. Every rank of c must call Map with the same options.
//
// If f fails, the map ends on every rank, and every rank returns an
// *ElementError naming the element (the smallest index among the failures
// seen) and carrying f's error. A bad option is an error wrapping
// comm.ErrInvalidArgument or comm.ErrInvalidRank, on every rank. Faults
// of the communicator (a lost peer, an abort, ctx ending) are returned as
// they come.
//
// f must be safe for concurrent use when a pool is given. Calls of Map on
// one communicator must not overlap (like every collective).
func Map[T, R comm.Elem](ctx context.Context, c *comm.Comm, src []T, f func(x T) (R, error), opts ...MapOption) ([]R, error) {
	return mapCore(ctx, c, "Map", src, false, 0, typedMover[T]{}, typedMover[R]{},
		func(_ int, x T) (R, error) { return f(x) }, opts)
}

// MapValue is Map for elements and results of any type, encoded with
// msgpack (as comm.SendValue does). Use Map for numeric types.
func MapValue[T, R any](ctx context.Context, c *comm.Comm, src []T, f func(x T) (R, error), opts ...MapOption) ([]R, error) {
	return mapCore(ctx, c, "MapValue", src, false, 0, valueMover[T]{}, valueMover[R]{},
		func(_ int, x T) (R, error) { return f(x) }, opts)
}

// MapRange applies f to every index of [0, n) across the ranks of c, like
// Pool.map(f, range(n)): no input moves, only the results. n must be the
// same on every rank. Results, errors and options are those of Map.
func MapRange[R comm.Elem](ctx context.Context, c *comm.Comm, n int, f func(i int) (R, error), opts ...MapOption) ([]R, error) {
	if n < 0 {
		return nil, invalid("MapRange", "n = %d, want ≥ 0", n)
	}
	return mapCore(ctx, c, "MapRange", nil, true, n, typedMover[uint8]{}, typedMover[R]{},
		func(i int, _ uint8) (R, error) { return f(i) }, opts)
}

// blockCounts splits n items over size ranks in contiguous blocks whose
// sizes differ by at most one.
func blockCounts(n, size int) []int {
	counts := make([]int, size)
	for r := range counts {
		counts[r] = n/size + b2i(r < n%size)
	}
	return counts
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// apply runs f over in[0:len(out)] (in is nil for an index range), the
// element at local position j having global index base+j. It returns the
// smallest failing global index and its error, or -1.
func apply[T, R any](pool *kernels.Pool, base int, in []T, out []R, f func(int, T) (R, error)) (int, error) {
	var mu sync.Mutex
	bad, badErr := -1, error(nil)
	var stop atomic.Bool
	body := func(lo, hi, _ int) {
		var zero T
		for j := lo; j < hi; j++ {
			if (j-lo)&1023 == 1023 && stop.Load() {
				return
			}
			x := zero
			if in != nil {
				x = in[j]
			}
			y, err := f(base+j, x)
			if err != nil {
				mu.Lock()
				if bad < 0 || base+j < bad {
					bad, badErr = base+j, err
				}
				mu.Unlock()
				stop.Store(true)
				return
			}
			out[j] = y
		}
	}
	if pool == nil {
		if len(out) > 0 {
			body(0, len(out), 0)
		}
	} else {
		pool.ParallelFor(len(out), kernels.Schedule{}, body)
	}
	return bad, badErr
}

// failure is how a map's first error travels between ranks.
type failure struct {
	Failed bool
	Index  int
	Rank   int
	Msg    string
	// Key names the failure on its rank when that rank cannot tell the
	// global index (a dynamic map's worker): the number of the chunk
	// among those the worker received, times the chunk size, plus the
	// offset in the chunk.
	Key int
}

func (fl failure) err(self int, local error, localIdx int) error {
	if !fl.Failed {
		return nil
	}
	e := &ElementError{Index: fl.Index, Rank: fl.Rank, Err: local}
	if fl.Rank != self || local == nil || localIdx != fl.Index {
		e.Err = &remoteError{fl.Msg}
	}
	return e
}

func mapCore[T, R any](ctx context.Context, c *comm.Comm, call string, src []T, ranged bool, n int,
	in mover[T], out mover[R], f func(int, T) (R, error), opts []MapOption) ([]R, error) {
	var cfg mapConfig
	for _, o := range opts {
		o(&cfg)
	}
	rank, size := c.Rank(), c.Size()
	if cfg.root < 0 || cfg.root >= size {
		return nil, invalidRank(call, "root", cfg.root, size)
	}
	if !ranged {
		// Only the root knows the length.
		nn := []int64{int64(len(src))}
		if err := collectives.Bcast(ctx, c, nn, cfg.root); err != nil {
			return nil, err
		}
		n = int(nn[0])
	}
	if cfg.chunk > 0 && size > 1 {
		return mapDynamic(ctx, c, src, ranged, n, in, out, f, cfg)
	}
	counts := blockCounts(n, size)
	lo := 0
	for r := range rank {
		lo += counts[r]
	}
	var mine []T
	if !ranged {
		var err error
		if mine, err = in.scatter(ctx, c, src, counts, cfg.root); err != nil {
			return nil, err
		}
	}
	res := make([]R, counts[rank])
	bad, badErr := apply(cfg.pool, lo, mine, res, f)
	// One reduction tells every rank whether, and where, the map failed.
	local, first := []int64{math.MaxInt64}, []int64{0}
	if bad >= 0 {
		local[0] = int64(bad)
	}
	if err := collectives.Allreduce(ctx, c, first, local, collectives.Min[int64]()); err != nil {
		return nil, err
	}
	if first[0] != math.MaxInt64 {
		idx := int(first[0])
		owner, off := 0, 0
		for owner < size-1 && idx >= off+counts[owner] {
			off += counts[owner]
			owner++
		}
		fl := failure{Failed: true, Index: idx, Rank: owner}
		if rank == owner {
			fl.Msg = badErr.Error()
		}
		if err := collectives.BcastValue(ctx, c, &fl, owner); err != nil {
			return nil, err
		}
		return nil, fl.err(rank, badErr, bad)
	}
	return out.gather(ctx, c, res, counts, cfg.root, cfg.all)
}

// grow returns s resliced (or reallocated) to length n.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
