package collectives

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"
	"weak"

	"github.com/gorun-hpc/gorun/comm"
)

// The "shared" algorithms of Barrier, Bcast and Allreduce (small buffers)
// run over memory that the ranks of one host share (a comm.SharedWindow)
// instead of messages: each rank has sharedSlots slots in it, and waits
// with SharedWindow.Await on what the others store. A slot's first cache
// line holds its header (slotHeader: the generation of the call that last
// used it, stored last, and that call's signature) and the first bytes of
// its data, so that a rank that sees another arrive at a call has, with
// the same line, what it compares with its own call's signature (a
// mismatch is ErrMismatch) and the data of a small call.
//
//   - Barrier: each rank stores its arrival; all wait for every arrival.
//   - Bcast: the root copies the buffer into its slot and stores its
//     arrival; the others wait for it, copy out, and store theirs.
//   - Allreduce: each rank copies its contribution into its slot and
//     stores its arrival; once all have arrived, each combines the slots in
//     rank order (r0 ⊕ r1 ⊕ ... ⊕ r(p-1), any operation).
//
// Calls on a communicator are numbered (gen, in call order, the same on
// every rank). A call's data go in slot gen%sharedSlots, so a rank running
// ahead does not overwrite what a slower rank still reads: before it
// writes a slot, a rank waits until every rank has finished the call that
// last used it, which it knows from their arrivals at the next call (a
// rank arrives at every call, and finishes one before it arrives at the
// next). A call thus writes one line of the rank's slice, and reads one
// line of each other rank's that it waits for (a small call's): every
// line another rank wrote since is a fetch from that rank's cache.
//
// The window is made the first time a communicator needs it (a
// collective call, so every rank makes it at the same call), kept with the
// communicator and freed when the communicator is garbage collected. When
// it cannot be made (no shared memory left), the communicator uses the
// message algorithms from then on; a non-blocking collective (which runs
// on a duplicate of its communicator of its own) uses them too.

// sharedSlot is the largest buffer, in bytes, of the shared Bcast and
// Allreduce; each rank's slice holds sharedSlots of them, used in turn, so
// that a Bcast's root can run sharedSlots-1 calls ahead of the slowest
// rank (as eager messages let it run ahead).
const (
	sharedSlot  = 4 << 10
	sharedSlots = 32
)

// slotHeader begins every slot: seq, the generation of the last call the
// rank arrived at with this slot (its data, if any, in place), stored
// last; sig, that call's signature (see sigOf), which the ranks that read
// the slot compare with their own call's. A rank that only arrives (a
// Bcast's non-root) stores seq alone: a slower rank may still compare the
// signature of the slot's previous call.
type slotHeader struct {
	seq, sig uint64
}

// slotHead is where a slot's data begin; slotStride is the distance from
// one slot to the next, a whole number of cache lines (SharedAlign).
const (
	slotHead   = int(unsafe.Sizeof(slotHeader{}))
	slotStride = (slotHead + sharedSlot + comm.SharedAlign - 1) &^ (comm.SharedAlign - 1)
)

// The kinds of call in a signature.
const (
	sigBarrier = 1 + iota
	sigBcast
	sigAllreduce
)

var sigNames = [...]string{sigBarrier: "Barrier", sigBcast: "Bcast", sigAllreduce: "Allreduce"}

// sigOf is a call's signature: its kind, root and size in bytes.
func sigOf(kind, root, bytes int) uint64 {
	return uint64(kind)<<60 | uint64(root&(1<<20-1))<<40 | uint64(bytes)&(1<<40-1)
}

// describeSig spells a signature out for an error.
func describeSig(s uint64) string {
	kind, root, bytes := int(s>>60), int(s>>40&(1<<20-1)), int(s&(1<<40-1))
	name := "an unknown call"
	if kind > 0 && kind < len(sigNames) {
		name = sigNames[kind]
	}
	switch kind {
	case sigBarrier:
		return name
	case sigBcast:
		return fmt.Sprintf("%s of %d bytes from root %d", name, bytes, root)
	}
	return fmt.Sprintf("%s of %d bytes", name, bytes)
}

// nodeState is a communicator's window and the count of its calls. The
// collectives of one communicator run one at a time (from one goroutine of
// each rank), so only creation needs a lock.
type nodeState struct {
	key   weak.Pointer[comm.Comm]
	w     *comm.SharedWindow
	me    int
	slots [][]byte // per rank: sharedSlots slots of slotStride bytes
	gen   uint64

	want    uint64 // what the conditions below wait for
	root    int
	arrived func() bool // every rank arrived at want or later
	rootIn  func() bool // the root arrived at want or later
	// minArrive is the least arrival of any rank when arrived last held
	// (a rank's arrivals only grow): own need not look again while it
	// covers the call whose slot it reuses.
	minArrive uint64
}

// nodeStates maps a communicator (weakly: it may be collected) to its
// *nodeState, or to the error that made the window impossible.
var (
	nodeMu     sync.Mutex
	nodeStates = map[weak.Pointer[comm.Comm]]any{}
)

// lastState is the state sharedState returned last: a program's
// collectives mostly run on one communicator, and a weak pointer's Value
// costs a load where weak.Make and the map cost a lock and a hash.
var lastState atomic.Pointer[nodeState]

// sharedState returns c's state, making the window at the first call; a
// nil state with a nil error means the message algorithms must run. c's
// ranks are all on one host (the selector checked).
func sharedState(ctx context.Context, c *comm.Comm) (*nodeState, error) {
	if st := lastState.Load(); st != nil && st.key.Value() == c {
		return st, nil
	}
	key := weak.Make(c)
	nodeMu.Lock()
	v, ok := nodeStates[key]
	nodeMu.Unlock()
	if ok {
		st, _ := v.(*nodeState)
		if st != nil {
			lastState.Store(st)
		}
		return st, nil
	}
	w, err := c.AllocateShared(ctx, sharedSlots*slotStride)
	if err != nil {
		if ctx.Err() != nil || errors.Is(err, comm.ErrPeerLost) || errors.Is(err, comm.ErrAborted) ||
			errors.Is(err, comm.ErrPeerFinalized) || errors.Is(err, comm.ErrClosed) {
			return nil, err
		}
		// The same on every rank (AllocateShared's errors are): the
		// communicator goes on with messages.
		nodeMu.Lock()
		nodeStates[key] = err
		nodeMu.Unlock()
		runtime.AddCleanup(c, forget, key)
		return nil, nil
	}
	p := c.Size()
	st := &nodeState{key: key, w: w, me: c.Rank(), slots: make([][]byte, p)}
	for r := range p {
		b, err := w.Shared(r)
		if err != nil {
			w.Free()
			return nil, err
		}
		st.slots[r] = b
	}
	st.arrived = st.allArrived
	st.rootIn = st.rootArrived
	nodeMu.Lock()
	nodeStates[key] = st
	nodeMu.Unlock()
	lastState.Store(st)
	runtime.AddCleanup(c, forget, key)
	return st, nil
}

// forget drops a collected communicator's state and frees its window.
func forget(key weak.Pointer[comm.Comm]) {
	nodeMu.Lock()
	v := nodeStates[key]
	delete(nodeStates, key)
	nodeMu.Unlock()
	if st, ok := v.(*nodeState); ok {
		lastState.CompareAndSwap(st, nil)
		st.w.Free()
	}
}

// allArrived reports whether every rank arrived at want: the slot of want
// shows it (or a later call's arrival: a slot's seq only grows).
func (st *nodeState) allArrived() bool {
	least := ^uint64(0)
	for r := range st.slots {
		a := atomic.LoadUint64(&st.head(r, st.want).seq)
		if a < st.want {
			return false
		}
		least = min(least, a)
	}
	st.minArrive = least
	return true
}

func (st *nodeState) rootArrived() bool {
	return atomic.LoadUint64(&st.head(st.root, st.want).seq) >= st.want
}

// begin numbers a call and returns its generation.
func (st *nodeState) begin() uint64 {
	st.gen++
	return st.gen
}

// await waits until cond holds for generation g.
func (st *nodeState) await(ctx context.Context, cond func() bool, g uint64) error {
	st.want = g
	return st.w.Await(ctx, cond)
}

// head returns the header of rank r's slot for generation g.
func (st *nodeState) head(r int, g uint64) *slotHeader {
	return (*slotHeader)(unsafe.Pointer(&st.slots[r][int(g%sharedSlots)*slotStride]))
}

// slot returns rank r's data slot for generation g.
func (st *nodeState) slot(r int, g uint64) []byte {
	i := int(g%sharedSlots)*slotStride + slotHead
	return st.slots[r][i : i+sharedSlot : i+sharedSlot]
}

// own returns this rank's slot for generation g, with sig stored as its
// signature, once every rank has finished generation g-sharedSlots, the
// last to read it: once every rank has arrived at the call after it.
func (st *nodeState) own(ctx context.Context, g, sig uint64) ([]byte, error) {
	if g > sharedSlots && st.minArrive < g-sharedSlots+1 {
		if err := st.await(ctx, st.arrived, g-sharedSlots+1); err != nil {
			return nil, err
		}
	}
	atomic.StoreUint64(&st.head(st.me, g).sig, sig)
	return st.slot(st.me, g), nil
}

// agree checks that rank r's call of generation g (which has arrived) has
// signature sig, as this rank's: otherwise the ranks called different
// collectives, or with different sizes or roots, and the call fails with
// ErrMismatch rather than read what the other rank did not write.
func (st *nodeState) agree(r int, g, sig uint64) error {
	if got := atomic.LoadUint64(&st.head(r, g).sig); got != sig {
		what := "the call"
		if got>>40 == sig>>40 { // same kind and root
			what = "the buffer size"
		}
		return fmt.Errorf("rank %d called %s, this rank %s (ranks disagree on %s): %w", r, describeSig(got), describeSig(sig), what, ErrMismatch)
	}
	return nil
}

// agreeAll is agree for every rank.
func (st *nodeState) agreeAll(g, sig uint64) error {
	for r := range st.slots {
		if err := st.agree(r, g, sig); err != nil {
			return err
		}
	}
	return nil
}

// arrive stores this rank's arrival at generation g and wakes the waiters.
func (st *nodeState) arrive(g uint64) {
	atomic.StoreUint64(&st.head(st.me, g).seq, g)
	st.w.Notify()
}

func barrierShared(ctx context.Context, st *nodeState) error {
	g, sig := st.begin(), sigOf(sigBarrier, 0, 0)
	if _, err := st.own(ctx, g, sig); err != nil {
		return err
	}
	st.arrive(g)
	err := st.await(ctx, st.arrived, g)
	if err == nil {
		err = st.agreeAll(g, sig)
	}
	return err
}

func bcastShared[T comm.Elem](ctx context.Context, st *nodeState, buf []T, root int) error {
	b := comm.Bytes(buf)
	g, sig := st.begin(), sigOf(sigBcast, root, len(b))
	if st.me == root {
		s, err := st.own(ctx, g, sig)
		if err != nil {
			return err
		}
		copy(s, b)
		st.arrive(g)
		return nil
	}
	st.root = root
	err := st.await(ctx, st.rootIn, g)
	if err == nil {
		err = st.agree(root, g, sig)
	}
	if err == nil {
		copy(b, st.slot(root, g))
	}
	st.arrive(g)
	return err
}

func allreduceShared[T comm.Elem](ctx context.Context, st *nodeState, dst, in []T, op Op[T]) error {
	n := len(dst)
	g, sig := st.begin(), sigOf(sigAllreduce, 0, n*comm.SizeOf[T]())
	mine, err := st.own(ctx, g, sig)
	if err != nil {
		return err
	}
	copy(mine, comm.Bytes(in))
	st.arrive(g)
	err = st.await(ctx, st.arrived, g)
	if err == nil {
		err = st.agreeAll(g, sig)
	}
	if err == nil {
		for r := range st.slots {
			s := st.slot(r, g)
			v := unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(s))), n)
			if r == 0 {
				copy(dst, v)
			} else {
				op.Fn(dst, v)
			}
		}
	}
	return err
}
