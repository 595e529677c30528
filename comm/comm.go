package comm

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/gorun-hpc/gorun/comm/rendezvous"
)

// Comm is a communicator: a group of ranks and a context that keeps its
// messages apart from every other communicator's.
//
// A Comm may be used from many goroutines at once. Messages between one
// sender and one receiver that both match a receive are received in the
// order they were sent (MPI's non-overtaking rule); receives with the same
// source and tag match in the order they were posted. Collective calls on
// one Comm must be made in the same order by every rank, and not
// concurrently from two goroutines of one rank.
type Comm struct {
	e     *engine
	ctx   uint64 // even: user traffic; ctx|1: collective traffic
	group []int  // comm rank -> world rank
	rank  int
	inv   map[int]int // world rank -> comm rank; nil for the world
	sys   *Comm       // the collective view; nil on a collective view

	collSeq  atomic.Uint32
	childSeq atomic.Uint64
	nodes    atomic.Pointer[Nodes] // made by the first Nodes call (nodes.go)

	// world only
	proc *process
}

// process holds what belongs to the process rather than to a communicator.
type process struct {
	owned     []rendezvous.Store // closed by Close: the stores Init dialled
	store     rendezvous.Store
	watch     rendezvous.Store
	stopWatch context.CancelFunc
	closeOnce sync.Once
	closeErr  error
	localRank int
	localSize int
	hosts     hostTable // which host each world rank is on (nodes.go)
}

// Rank returns the calling process's rank in c (0..Size-1).
func (c *Comm) Rank() int { return c.rank }

// Size returns the number of ranks in c.
func (c *Comm) Size() int { return len(c.group) }

// WorldRank returns the world rank of rank r of c. It has no error
// result: r out of [0, Size()) panics.
func (c *Comm) WorldRank(r int) int {
	if r < 0 || r >= len(c.group) {
		panic(fmt.Sprintf("comm: WorldRank: rank %d out of range [0,%d)", r, len(c.group)))
	}
	return c.group[r]
}

func (c *Comm) commRank(world int) int {
	if c.inv == nil {
		return world
	}
	if r, ok := c.inv[world]; ok {
		return r
	}
	return -1
}

func (c *Comm) containsWorld(world int) bool { return c.commRank(world) >= 0 }

// peerOf checks rank r of c, a destination (recv false) or a source, for
// call, and returns its world rank, or ProcNull or AnySource (sources
// only) as they are.
func (c *Comm) peerOf(call string, r int, recv bool) (int, error) {
	switch {
	case r >= 0 && r < len(c.group):
		return c.group[r], nil
	case r == ProcNull:
		return ProcNull, nil
	case r == AnySource && recv:
		return AnySource, nil
	}
	if recv {
		return 0, argErrorf(ErrInvalidRank, "comm: %s: source rank %d out of range [0,%d) (or AnySource, ProcNull)", call, r, len(c.group))
	}
	return 0, argErrorf(ErrInvalidRank, "comm: %s: destination rank %d out of range [0,%d) (or ProcNull)", call, r, len(c.group))
}

// checkTag checks tag for call: 0..MaxTag (any int32 from 0 on a
// collective view), or AnyTag for a receive or probe.
func (c *Comm) checkTag(call string, tag int, recv bool) (int32, error) {
	if recv && tag == AnyTag {
		return AnyTag, nil
	}
	limit := MaxTag
	if c.sys == nil {
		limit = 1<<31 - 1
	}
	if tag < 0 || tag > limit {
		if recv {
			return 0, argErrorf(ErrInvalidTag, "comm: %s: tag %d out of range [0,%d] (or AnyTag)", call, tag, limit)
		}
		return 0, argErrorf(ErrInvalidTag, "comm: %s: tag %d out of range [0,%d]", call, tag, limit)
	}
	return int32(tag), nil
}

func newComm(e *engine, ctx uint64, group []int, myWorld int) *Comm {
	c := &Comm{e: e, ctx: ctx, group: group}
	if !isIdentity(group, e.size) {
		c.inv = make(map[int]int, len(group))
		for i, w := range group {
			c.inv[w] = i
		}
	}
	c.rank = c.commRank(myWorld)
	c.sys = &Comm{e: e, ctx: ctx | 1, group: group, inv: c.inv, rank: c.rank}
	return c
}

func isIdentity(g []int, n int) bool {
	if len(g) != n {
		return false
	}
	for i, w := range g {
		if i != w {
			return false
		}
	}
	return true
}

// StepsPerCollective is how many distinct tags one collective call may use,
// from the base tag Collective returns.
const StepsPerCollective = 1 << 10

// Collective starts one collective operation on c, for library code such as
// package collectives. It returns the communicator's collective view (same
// group and ranks, a separate context that user messages never match) and
// a base tag: the call may use tags base..base+StepsPerCollective-1 on the
// view. Every rank must call Collective once per collective operation, in
// the same order. It has no error result: called on a collective view, it
// panics (a programming error of the library calling it).
func (c *Comm) Collective() (sys *Comm, base int) {
	if c.sys == nil {
		panic("comm: Collective called on a collective view")
	}
	seq := c.collSeq.Add(1)
	return c.sys, int(seq%(1<<20)) * StepsPerCollective
}

// deriveCtx gives a child context id from a parent's and the parent's
// child sequence number. Every member computes the same id with no
// communication; distinct children of one process get distinct ids (with
// overwhelming probability: 63 random-looking bits).
func deriveCtx(parent, seq uint64) uint64 {
	z := parent ^ (seq+1)*0x9E3779B97F4A7C15
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	z ^= z >> 31
	z &^= 1
	if z < 2 {
		z = 2
	}
	return z
}

// Dup returns a new communicator with the same group as c and its own
// context. It is collective over c (every rank must call it, in the same
// order with respect to other Dup and Split calls on c) but needs no
// communication. It takes no argument that could be bad.
func (c *Comm) Dup() *Comm {
	ctx := deriveCtx(c.ctx, c.childSeq.Add(1))
	return newComm(c.e, ctx, c.group, c.group[c.rank])
}

// Split partitions c: ranks that pass the same color form a new
// communicator, ordered by key and then by rank in c. A rank that passes
// Undefined (any negative color) takes part but gets nil. Collective over c.
// Every color and key is valid; the errors are those of the exchange of
// colors and keys (ctx ending, a peer lost).
func (c *Comm) Split(ctx context.Context, color, key int) (*Comm, error) {
	if err := c.checkSplit(ctx); err != nil {
		return nil, fmt.Errorf("comm: split: %w", err)
	}
	seq := c.childSeq.Add(1)
	table, err := c.allgatherInts(ctx, []int{color, key})
	if err != nil {
		return nil, fmt.Errorf("comm: split: %w", err)
	}
	if color < 0 {
		return nil, nil
	}
	type member struct{ key, rank int }
	var ms []member
	for r := 0; r < c.Size(); r++ {
		if table[2*r] == color {
			ms = append(ms, member{table[2*r+1], r})
		}
	}
	slices.SortStableFunc(ms, func(a, b member) int {
		// cmp.Compare, not a subtraction, which overflows for keys far
		// apart.
		if c := cmp.Compare(a.key, b.key); c != 0 {
			return c
		}
		return cmp.Compare(a.rank, b.rank)
	})
	group := make([]int, len(ms))
	for i, m := range ms {
		group[i] = c.group[m.rank]
	}
	return newComm(c.e, deriveCtx(c.ctx, seq), group, c.group[c.rank]), nil
}

// Create returns a communicator of the given ranks of c, in that order.
// Collective over c; ranks not listed get nil. A rank out of [0, Size())
// is an error wrapping ErrInvalidRank, and one listed twice an error
// wrapping ErrInvalidArgument, before any communication (every rank passes
// the same list, so every rank returns it).
func (c *Comm) Create(ctx context.Context, ranks []int) (*Comm, error) {
	color, key := Undefined, 0
	seen := make(map[int]bool, len(ranks))
	for i, r := range ranks {
		if r < 0 || r >= c.Size() {
			return nil, argErrorf(ErrInvalidRank, "comm: Create: rank %d (at index %d) out of range [0,%d)", r, i, c.Size())
		}
		if seen[r] {
			return nil, argErrorf(ErrInvalidArgument, "comm: Create: rank %d listed twice", r)
		}
		seen[r] = true
		if r == c.rank {
			color, key = 0, i
		}
	}
	return c.Split(ctx, color, key)
}

// allgatherInts gathers vals (the same length on every rank) from every
// rank, in rank order, over the collective context: linear gather to rank 0
// and a broadcast back. Used where package collectives cannot be (it
// imports comm).
func (c *Comm) allgatherInts(ctx context.Context, vals []int) ([]int, error) {
	sys, tag := c.Collective()
	n, k := c.Size(), len(vals)
	all := make([]int, n*k)
	if c.rank == 0 {
		copy(all, vals)
		for r := 1; r < n; r++ {
			if _, err := Recv(ctx, sys, all[r*k:(r+1)*k], r, tag); err != nil {
				return nil, err
			}
		}
		reqs := make([]*Request, 0, n-1)
		for r := 1; r < n; r++ {
			reqs = append(reqs, Isend(sys, all, r, tag+1))
		}
		return all, WaitAll(ctx, reqs...)
	}
	if err := Send(ctx, sys, vals, 0, tag); err != nil {
		return nil, err
	}
	_, err := Recv(ctx, sys, all, 0, tag+1)
	return all, err
}

// LocalRank returns the rank's index among the ranks on its host.
func (c *Comm) LocalRank() int { return c.world().proc.localRank }

// LocalSize returns the number of ranks on the rank's host.
func (c *Comm) LocalSize() int { return c.world().proc.localSize }

func (c *Comm) world() *Comm { return c.e.worldComm }
