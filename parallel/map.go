package parallel

import (
	"context"
	"math"
	"runtime"
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

// Tags of the dynamic map, on a Dup of the caller's communicator.
const (
	tagMapReq  = 1 // worker → root: {chunk, status, index}, then results or the error text
	tagMapData = 2
	tagMapWork = 3 // root → worker: {chunk, lo, hi} (chunk -1: stop), then the input
)

func mapDynamic[T, R any](ctx context.Context, c *comm.Comm, src []T, ranged bool, n int,
	in mover[T], out mover[R], f func(int, T) (R, error), cfg mapConfig) ([]R, error) {
	d := c.Dup()
	rank, root := c.Rank(), cfg.root
	chunks := (n + cfg.chunk - 1) / cfg.chunk
	span := func(k int) (int, int) { return k * cfg.chunk, min(n, (k+1)*cfg.chunk) }
	var dst []R
	var fl failure
	var localErr error
	localIdx := -1
	if rank == root {
		dst = make([]R, n)
		next, running := 0, c.Size()-1
		hdr := make([]int64, 3)
		// serve answers one request of a worker: store its result, hand it
		// the next chunk or tell it to stop.
		serve := func(source int) error {
			st, err := comm.Recv(ctx, d, hdr, source, tagMapReq)
			if err != nil {
				return err
			}
			w := st.Source
			k, status, idx := int(hdr[0]), hdr[1], int(hdr[2])
			switch {
			case k >= chunks || (k < 0 && status != 0):
				return errMalformedf("request for chunk %d status %d from rank %d", k, status, w)
			case k >= 0 && status == 0:
				lo, hi := span(k)
				if err := out.recvInto(ctx, d, dst[lo:hi], w, tagMapData); err != nil {
					return err
				}
			case k >= 0:
				b, _, err := d.RecvAlloc(ctx, w, tagMapData)
				if err != nil {
					return err
				}
				if !fl.Failed || idx < fl.Index {
					fl = failure{Failed: true, Index: idx, Rank: w, Msg: string(b)}
				}
			}
			work := []int64{-1, 0, 0}
			if next < chunks && !fl.Failed {
				lo, hi := span(next)
				work = []int64{int64(next), int64(lo), int64(hi)}
				next++
			} else {
				running--
			}
			if err := comm.Send(ctx, d, work, w, tagMapWork); err != nil {
				return err
			}
			if work[0] >= 0 && !ranged {
				return in.send(ctx, d, src[work[1]:work[2]], w, tagMapWork)
			}
			return nil
		}
		for {
			// Serve every request that has arrived, then work on one chunk.
			for running > 0 {
				runtime.Gosched()
				if _, ok, err := d.Iprobe(comm.AnySource, tagMapReq); err != nil {
					return nil, err
				} else if !ok {
					break
				}
				if err := serve(comm.AnySource); err != nil {
					return nil, err
				}
			}
			if next < chunks && !fl.Failed {
				k := next
				next++
				lo, hi := span(k)
				var part []T
				if !ranged {
					part = src[lo:hi]
				}
				if bad, err := apply(cfg.pool, lo, part, dst[lo:hi], f); bad >= 0 {
					if !fl.Failed || bad < fl.Index {
						fl = failure{Failed: true, Index: bad, Rank: rank, Msg: err.Error()}
						localErr, localIdx = err, bad
					}
				}
				continue
			}
			if running == 0 {
				break
			}
			if err := serve(comm.AnySource); err != nil {
				return nil, err
			}
		}
	} else {
		hdr := []int64{-1, 0, 0}
		var extra []byte
		var res []R
		var part []T
		work := make([]int64, 3)
		for {
			if err := comm.Send(ctx, d, hdr, root, tagMapReq); err != nil {
				return nil, err
			}
			if hdr[0] >= 0 {
				var err error
				if hdr[1] == 0 {
					err = out.send(ctx, d, res, root, tagMapData)
				} else {
					err = comm.Send(ctx, d, extra, root, tagMapData)
				}
				if err != nil {
					return nil, err
				}
			}
			if _, err := comm.Recv(ctx, d, work, root, tagMapWork); err != nil {
				return nil, err
			}
			if work[0] < 0 {
				break
			}
			lo, hi := int(work[1]), int(work[2])
			if lo < 0 || hi < lo || hi > n {
				return nil, errMalformedf("chunk [%d, %d) of %d elements", lo, hi, n)
			}
			if !ranged {
				part = grow(part, hi-lo)
				if err := in.recvInto(ctx, d, part, root, tagMapWork); err != nil {
					return nil, err
				}
			}
			res = grow(res, hi-lo)
			bad, err := apply(cfg.pool, lo, part, res, f)
			hdr = []int64{work[0], 0, 0}
			if bad >= 0 {
				hdr[1], hdr[2] = 1, int64(bad)
				extra = []byte(err.Error())
				if localIdx < 0 || bad < localIdx {
					localErr, localIdx = err, bad
				}
			}
		}
	}
	if err := collectives.BcastValue(ctx, c, &fl, root); err != nil {
		return nil, err
	}
	if fl.Failed {
		return nil, fl.err(rank, localErr, localIdx)
	}
	if cfg.all {
		if rank != root {
			dst = make([]R, n)
		}
		if err := out.bcast(ctx, c, dst, root); err != nil {
			return nil, err
		}
	}
	return dst, nil
}

// grow returns s resliced (or reallocated) to length n.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
