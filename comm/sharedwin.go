package comm

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/gorun-hpc/gorun/comm/internal/shm"
)

// ErrNoSharedMemory is wrapped by AllocateShared's error when the window's
// memory cannot be reserved (more than the machine has, a memory cgroup
// limit, a full tmpfs): an error at allocation, never a SIGBUS later.
var ErrNoSharedMemory = errors.New("comm: not enough shared memory")

// SharedAlign is the alignment, in bytes, of every rank's slice of a
// SharedWindow (a cache line, so that ranks writing their own slices do
// not share lines, and any element type is aligned).
const SharedAlign = 64

// sharedDir, when set (by tests), backs windows with an unnamed file in
// that tmpfs instead of a memfd.
var sharedDir string

// SharedWindow is memory shared by the ranks of one host, like
// MPI_Win_allocate_shared: one segment, each rank's slice of it at its own
// offset, and every rank able to read and write every slice (Shared,
// SharedOf) with plain loads and stores.
//
// Synchronisation is the program's: Fence is a barrier over the window's
// ranks with a memory-ordering guarantee (what any rank stored into the
// window before its Fence is visible to every rank after its Fence
// returns), the usual pattern being write, Fence, read. Stores that race
// with other ranks' loads or stores without a Fence between them have no
// defined outcome, as in MPI; sync/atomic operations on the memory work
// across the ranks (it is the same physical memory).
//
// The segment is a memfd made by the window's rank 0, mode 0600, its
// pages reserved in full when it is made; the others learn where it is
// only through a message over the communicator (whose peers passed the
// job's authentication) and map it through /proc. It never has a name in
// any directory, so nothing is left in /dev/shm however the job ends
// (Free, Abort, SIGKILL): the memory goes when the last rank unmaps it or
// exits.
//
// Concurrency: Shared, SharedOf, Rank and Size may be called from many
// goroutines. Fence is collective over the window's ranks, from one
// goroutine of each rank at a time. Free may be called from any goroutine;
// it waits for a Fence in progress.
type SharedWindow struct {
	c         *Comm // a Dup of the communicator: the window's Fences are its collectives
	region    *shm.Region
	off, size []int

	mu     sync.RWMutex // Free takes it to unmap; Fence and Shared hold it shared
	freed  bool
	fences int // Fence calls so far (under a Fence's own exclusive use)
}

// AllocateShared makes a SharedWindow over c, whose ranks must all be on
// one host (a communicator from SplitType(TypeShared), or any other whose
// ranks share a host): each rank asks for size bytes (0 is allowed) and
// gets a slice of that length, at an offset that is a multiple of
// SharedAlign, slices following each other in rank order. Collective over
// c: every rank calls it, in the same order as c's other collectives.
//
// Errors, the same on every rank: c's ranks on more than one host, or any
// rank's size negative or over the limit (2^44 bytes in all), wrap
// ErrInvalidArgument (naming the rank and its size); a segment that
// cannot be reserved wraps ErrNoSharedMemory; a rank that cannot map it
// (its error names the rank); and those of the exchanges (ctx ending, a
// peer lost). On any error no rank keeps the memory mapped.
func (c *Comm) AllocateShared(ctx context.Context, size int) (*SharedWindow, error) {
	fail := func(err error) (*SharedWindow, error) {
		return nil, fmt.Errorf("comm: AllocateShared: %w", err)
	}
	n, err := c.Nodes(ctx)
	if err != nil {
		return fail(err)
	}
	if n.Hosts != 1 {
		return nil, argErrorf(ErrInvalidArgument, "comm: AllocateShared: the communicator's ranks are on %d hosts: call it on the communicator of one host (SplitType(TypeShared))", n.Hosts)
	}
	d := c.Dup()
	sizes, err := d.allgatherInts(ctx, []int{size})
	if err != nil {
		return fail(err)
	}
	p := d.Size()
	w := &SharedWindow{c: d, off: make([]int, p), size: sizes}
	total := 0
	for r, s := range sizes {
		if s < 0 || s > shm.MaxRegion {
			return nil, argErrorf(ErrInvalidArgument, "comm: AllocateShared: rank %d asked for %d bytes (want 0 to %d)", r, s, shm.MaxRegion)
		}
		w.off[r] = total
		total += (s + SharedAlign - 1) &^ (SharedAlign - 1)
		if total > shm.MaxRegion {
			return nil, argErrorf(ErrInvalidArgument, "comm: AllocateShared: %d bytes in all up to rank %d (want at most %d)", total, r, shm.MaxRegion)
		}
	}
	// Rank 0 makes the segment and sends every other rank its handle, or
	// why it could not: 1 + handle, 2 + text (no space), 3 + text.
	sys, tag := d.Collective()
	var local error // this rank's failure to make or map the segment
	if d.rank == 0 {
		w.region, local = shm.CreateRegion(int64(total), sharedDir)
		var msg []byte
		switch {
		case local == nil:
			msg = shm.AppendRegionHandle([]byte{1}, w.region.Handle())
		case errors.Is(local, shm.ErrNoSpace):
			msg = append([]byte{2}, truncateText(local.Error())...)
		default:
			msg = append([]byte{3}, truncateText(local.Error())...)
		}
		reqs := make([]*Request, 0, p-1)
		for r := 1; r < p; r++ {
			reqs = append(reqs, Isend(sys, msg, r, tag))
		}
		if err := WaitAll(ctx, reqs...); err != nil {
			w.close()
			return fail(err)
		}
	} else {
		buf := make([]byte, 1+maxText)
		st, err := Recv(ctx, sys, buf, 0, tag)
		if err != nil {
			return fail(err)
		}
		local = w.open(buf[:st.Bytes])
	}
	// Everyone says whether it has the segment mapped; then rank 0 closes
	// its descriptor, and from then on nobody else can open it.
	ok := 0
	if local == nil {
		ok = 1
	}
	oks, err := d.allgatherInts(ctx, []int{ok})
	if w.region != nil {
		w.region.Release()
	}
	if err != nil {
		w.close()
		return fail(err)
	}
	for r, ok := range oks {
		if ok == 1 {
			continue
		}
		w.close()
		switch {
		case local != nil && errors.Is(local, shm.ErrNoSpace):
			return fail(fmt.Errorf("%w: %d bytes: %v", ErrNoSharedMemory, total, local))
		case local != nil:
			return fail(fmt.Errorf("rank %d: %w", d.rank, local))
		}
		return fail(fmt.Errorf("rank %d could not make or map the segment", r))
	}
	e := d.e
	e.mu.Lock()
	if e.windows == nil {
		e.windows = make(map[*shm.Region]struct{})
	}
	e.windows[w.region] = struct{}{}
	e.mu.Unlock()
	return w, nil
}

// SharedMemory reports whether c's ranks may share memory when they are on
// one host: the build has shared memory (ShmAvailable) and this rank's
// Config.Transport is not "tcp". It says nothing of where the ranks are
// (Nodes does). Ranks that share a configuration give the same answer.
// Safe for concurrent use.
func (c *Comm) SharedMemory() bool { return ShmAvailable && c.e.cfg.Transport != TransportTCP }

// maxText bounds the error text rank 0 sends when it cannot make the
// segment.
const maxText = 512

func truncateText(s string) []byte {
	if len(s) > maxText {
		s = s[:maxText]
	}
	return []byte(s)
}

// open maps the segment of rank 0's message msg (see AllocateShared).
func (w *SharedWindow) open(msg []byte) error {
	if len(msg) == 0 {
		return fmt.Errorf("%w: an empty message from rank 0", ErrProtocol)
	}
	switch msg[0] {
	case 1:
		h, err := shm.ParseRegionHandle(msg[1:])
		if err != nil {
			return fmt.Errorf("%w: rank 0's handle: %v", ErrProtocol, err)
		}
		w.region, err = shm.OpenRegion(h)
		return err
	case 2:
		return fmt.Errorf("rank 0: %w: %s", shm.ErrNoSpace, msg[1:])
	case 3:
		return fmt.Errorf("rank 0: %s", msg[1:])
	}
	return fmt.Errorf("%w: rank 0's message starts with %d", ErrProtocol, msg[0])
}

func (w *SharedWindow) close() {
	if w.region != nil {
		w.region.Close()
	}
}

// Rank returns the calling rank's rank in the window (its rank in the
// communicator it was allocated over).
func (w *SharedWindow) Rank() int { return w.c.rank }

// Size returns the number of ranks of the window.
func (w *SharedWindow) Size() int { return len(w.size) }

// Shared returns rank r's slice of the window (MPI_Win_shared_query), of
// the length r asked for; the calling rank's own is Shared(w.Rank()). The
// slice is valid until this rank calls Free: do not use it afterwards.
// Errors: r out of [0, Size()) wraps ErrInvalidRank; after Free, ErrClosed.
func (w *SharedWindow) Shared(r int) ([]byte, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.freed {
		return nil, fmt.Errorf("comm: SharedWindow.Shared: %w", ErrClosed)
	}
	if r < 0 || r >= len(w.size) {
		return nil, argErrorf(ErrInvalidRank, "comm: SharedWindow.Shared: rank %d out of range [0,%d)", r, len(w.size))
	}
	lo, hi := w.off[r], w.off[r]+w.size[r]
	return w.region.Data()[lo:hi:hi], nil
}

// SharedOf is Shared as a slice of T: the whole elements of T in rank r's
// slice (every slice starts SharedAlign-aligned). Same errors as Shared.
func SharedOf[T Elem](w *SharedWindow, r int) ([]T, error) {
	b, err := w.Shared(r)
	if err != nil {
		return nil, err
	}
	n := len(b) / SizeOf[T]()
	if n == 0 {
		return []T{}, nil
	}
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), n), nil
}

// Fence synchronises the window's ranks (MPI_Win_fence as used with
// shared memory): it returns once every rank has called it, and whatever
// any rank stored into the window before calling Fence is visible to
// every rank once its Fence returns. Each rank does a sequentially
// consistent atomic add on a counter in the segment, a barrier over the
// window's own context, then waits until the counter shows every rank's
// add (an acquire of every rank's release), whatever the transport.
// Collective over the window's ranks. Errors: those of the barrier (ctx
// ending, a peer lost); after Free, ErrClosed; ranks that called Fence a
// different number of times wrap ErrInvalidArgument.
func (w *SharedWindow) Fence(ctx context.Context) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.freed {
		return fmt.Errorf("comm: SharedWindow.Fence: %w", ErrClosed)
	}
	w.fences++
	gen := w.fences
	ctr := w.region.Counter()
	atomic.AddUint64(ctr, 1)
	gens, err := w.c.allgatherInts(ctx, []int{gen})
	if err != nil {
		return fmt.Errorf("comm: SharedWindow.Fence: %w", err)
	}
	for r, g := range gens {
		if g != gen {
			return argErrorf(ErrInvalidArgument, "comm: SharedWindow.Fence: rank %d is at its fence %d, rank %d at its fence %d", r, g, w.c.rank, gen)
		}
	}
	want := uint64(gen) * uint64(len(gens))
	for atomic.LoadUint64(ctr) < want {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("comm: SharedWindow.Fence: %w", err)
		}
		runtime.Gosched()
	}
	return nil
}

// Free unmaps the window from this rank (MPI_Win_free without its
// barrier: call Fence first if other ranks' stores must be complete). The
// slices Shared returned must not be used afterwards. The memory itself
// goes once every rank has freed the window or exited. Free is local,
// idempotent, and returns nil.
func (w *SharedWindow) Free() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.freed {
		w.freed = true
		e := w.c.e
		e.mu.Lock()
		delete(e.windows, w.region)
		e.mu.Unlock()
		w.close()
	}
	return nil
}

// Await waits until cond reports true, for a rank that waits on what
// other ranks store into the window (a flag, a counter). It calls cond
// over and over for as long as the rank's waits poll (Config.Spin,
// giving the CPU to other processes between calls when the host is
// oversubscribed, Config.Yield), then sleeps until a rank of the window
// calls Notify, and calls cond again each time it wakes. cond runs on the
// calling goroutine, must not block, and should read what other ranks
// store with sync/atomic loads (their atomic stores before Notify are
// then visible to it, and so is what they stored before those).
//
// Errors: ctx's error if ctx ends first; ErrPeerLost or ErrPeerFinalized
// naming a rank of the window that is lost or has closed its
// communicator, or the job's abort (ErrAborted), since such a rank can no
// longer store what cond waits for; after Free, ErrClosed. A rank lost
// while another sleeps in Await wakes it at once.
//
// Concurrency: any number of goroutines may Await at once; Free waits for
// them to return.
func (w *SharedWindow) Await(ctx context.Context, cond func() bool) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.freed {
		return fmt.Errorf("comm: SharedWindow.Await: %w", ErrClosed)
	}
	if cond() {
		return nil
	}
	e := w.c.e
	if spin := e.pollSpin; spin > 0 {
		var start time.Time // read at the eighth poll: most waits end before
		for i := 1; ; i++ {
			if cond() {
				return nil
			}
			if e.osYield {
				schedYield()
			}
			if i&7 == 0 {
				runtime.Gosched()
				if i == 8 {
					start = time.Now()
					continue
				}
				if i&63 == 0 {
					if err := w.awaitErr(ctx, cond); err != nil {
						return err
					}
				}
				if time.Since(start) > spin {
					break
				}
			}
		}
	}
	// Sleep. A context that ends, like a lost peer, kicks the sleepers.
	stop := context.AfterFunc(ctx, w.region.Kick)
	defer stop()
	for {
		// Let the rank's other goroutines run before the sleep hands
		// the P over.
		runtime.Gosched()
		if cond() {
			return nil
		}
		if err := w.awaitErr(ctx, cond); err != nil {
			return err
		}
		w.region.Sleep(cond, awaitSleep)
	}
}

// awaitSleep bounds one sleep of Await: its wake-ups (Notify, a lost peer,
// ctx) are all explicit; this only bounds what a missed one could cost.
const awaitSleep = 100 * time.Millisecond

// awaitErr is why an Await cannot go on: ctx ended, a rank of the window
// is gone, or the engine failed; nil if cond holds by now (a rank that
// stored what cond waits for and then closed its communicator is gone,
// but its stores are there).
func (w *SharedWindow) awaitErr(ctx context.Context, cond func() bool) error {
	err := w.awaitState(ctx)
	if err != nil && cond() {
		return nil
	}
	return err
}

func (w *SharedWindow) awaitState(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("comm: SharedWindow.Await: %w", err)
	}
	e := w.c.e
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, p := range w.c.group {
		if p == e.rank {
			continue
		}
		if err := e.peerStateLocked(p); err != nil {
			return fmt.Errorf("comm: SharedWindow.Await: rank %d: %w", w.c.commRank(p), err)
		}
	}
	if e.fatal != nil {
		return fmt.Errorf("comm: SharedWindow.Await: %w", e.fatal)
	}
	return nil
}

// Notify wakes the ranks of the window asleep in Await, so that they look
// at their conditions again: call it after the atomic stores they wait
// for. When no rank sleeps it costs one load from the window. Safe for
// concurrent use; after Free it does nothing.
func (w *SharedWindow) Notify() {
	w.mu.RLock()
	if !w.freed {
		w.region.Wake()
	}
	w.mu.RUnlock()
}

// Close is Free (for io.Closer and defer).
func (w *SharedWindow) Close() error { return w.Free() }
