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
// instead of messages: each rank has two control lines (ctlLines) and
// sharedSlots data slots in it, and waits with SharedWindow.Await on what
// the others store. Every rank that reads another's slot first compares
// that call's signature with its own (a mismatch is ErrMismatch).
//
//   - Barrier: each rank stores its arrival; all wait for every arrival.
//   - Bcast: the root copies the buffer into its slot and stores its
//     arrival; the others wait for it and copy out.
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
// next). A call thus stores one word of its rank's control line, its
// arrival: every store there is an exclusive fetch of a line the other
// ranks read.
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

// ctlLines is the head of a rank's slice: on one cache line the
// generation of the last call the rank arrived at (its data, if any, in
// place); on the next, per slot, the signature of the call that used it
// last (see sigOf), which the ranks that read the slot compare with their
// own call's.
type ctlLines struct {
	arrive uint64
	_      [7]uint64
	sig    [sharedSlots]uint64
}

const ctlBytes = int(unsafe.Sizeof(ctlLines{}))

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
	key  weak.Pointer[comm.Comm]
	w    *comm.SharedWindow
	me   int
	ctl  []*ctlLines // per rank
	data [][]byte    // per rank: sharedSlots slots
	gen  uint64

	want    uint64 // what the conditions below wait for
	root    int
	arrived func() bool // every rank's arrive ≥ want
	rootIn  func() bool // the root's arrive ≥ want
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
	w, err := c.AllocateShared(ctx, ctlBytes+sharedSlots*sharedSlot)
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
	st := &nodeState{key: key, w: w, me: c.Rank(), ctl: make([]*ctlLines, p), data: make([][]byte, p)}
	for r := range p {
		b, err := w.Shared(r)
		if err != nil {
			w.Free()
			return nil, err
		}
		st.ctl[r] = (*ctlLines)(unsafe.Pointer(unsafe.SliceData(b)))
		st.data[r] = b[ctlBytes:]
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

func (st *nodeState) allArrived() bool {
	least := ^uint64(0)
	for _, c := range st.ctl {
		a := atomic.LoadUint64(&c.arrive)
		if a < st.want {
			return false
		}
		least = min(least, a)
	}
	st.minArrive = least
	return true
}

func (st *nodeState) rootArrived() bool {
	return atomic.LoadUint64(&st.ctl[st.root].arrive) >= st.want
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

// slot returns rank r's data slot for generation g.
func (st *nodeState) slot(r int, g uint64) []byte {
	i := int(g%sharedSlots) * sharedSlot
	return st.data[r][i : i+sharedSlot : i+sharedSlot]
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
	atomic.StoreUint64(&st.ctl[st.me].sig[g%sharedSlots], sig)
	return st.slot(st.me, g), nil
}

// agree checks that rank r's call of generation g (which has arrived) has
// signature sig, as this rank's: otherwise the ranks called different
// collectives, or with different sizes or roots, and the call fails with
// ErrMismatch rather than read what the other rank did not write.
func (st *nodeState) agree(r int, g, sig uint64) error {
	if got := atomic.LoadUint64(&st.ctl[r].sig[g%sharedSlots]); got != sig {
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
	for r := range st.ctl {
		if err := st.agree(r, g, sig); err != nil {
			return err
		}
	}
	return nil
}

// arrive stores this rank's arrival at generation g and wakes the waiters.
func (st *nodeState) arrive(g uint64) {
	atomic.StoreUint64(&st.ctl[st.me].arrive, g)
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
		for r := range st.ctl {
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
