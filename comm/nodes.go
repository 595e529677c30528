package comm

import (
	"context"
	"fmt"
	"strconv"
	"sync"
)

// Hosts: which ranks share a machine.
//
// A rank's host identity is its kernel's boot id
// (/proc/sys/kernel/random/boot_id) and its host name: two ranks are on
// one host when both agree. Network namespaces on one machine share the
// boot id but have host names of their own, and are different hosts here,
// as they are to the launcher; where there is no boot id (not Linux) the
// host name alone decides. Options.Host replaces the identity (tests run
// several "hosts" in one process).
//
// A rank's identity is published once, by the shared-memory transport,
// which every build links (host/<rank> = "<transport> <identity>", see
// shm.go and PROTOCOL.md; parseHostEntry reads it), before the rank's
// address: so once Connect has returned every peer's entry is there. The
// world's table (world rank -> host) is read from the store once per
// process, the first time a rank needs it (Nodes, SplitType,
// AllocateShared), and every communicator's layout is derived from it
// locally.

// SplitKind is the split_type argument of SplitType.
type SplitKind int

// TypeShared makes SplitType group the ranks of one host
// (MPI_COMM_TYPE_SHARED): same boot id and host name.
const TypeShared SplitKind = 1

// hostTable is the process's view of which host each world rank is on.
type hostTable struct {
	id string // this rank's identity (the transports publish it)

	mu   sync.Mutex
	host []int // world rank -> host index (hosts numbered by their lowest world rank); nil until loaded
}

// hostKey is the store key of rank's host entry, which the shared-memory
// transport publishes (shmTransport.publish) and the node table reads.
func hostKey(rank int) string { return "host/" + strconv.Itoa(rank) }

// setIdentity sets this rank's identity: o.Host, or the machine's. A
// world of one rank has its table at once; a larger one reads it from
// the host entries the transports publish.
func (t *hostTable) setIdentity(o Options) {
	t.id = o.Host
	if t.id == "" {
		t.id = hostIdentity()
	}
	if o.Size == 1 {
		t.host = []int{0}
	}
}

// worldHosts returns the world's table, reading it from the store the
// first time. Safe for concurrent use; the result is never modified.
func (w *Comm) worldHosts(ctx context.Context) ([]int, error) {
	t := &w.proc.hosts
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.host != nil {
		return t.host, nil
	}
	n := w.e.size
	host := make([]int, n)
	index := make(map[string]int)
	for r := range n {
		id := t.id
		if r != w.rank {
			if w.proc.store == nil {
				return nil, fmt.Errorf("comm: rank %d: no store to read the hosts from", w.rank)
			}
			v, err := w.proc.store.Get(ctx, hostKey(r))
			if err != nil {
				return nil, fmt.Errorf("comm: rank %d: reading the host of rank %d: %w", w.rank, r, err)
			}
			if _, id, err = parseHostEntry(v); err != nil {
				return nil, fmt.Errorf("comm: rank %d: the host of rank %d: %w", w.rank, r, err)
			}
		}
		h, ok := index[id]
		if !ok {
			h = len(index)
			index[id] = h
		}
		host[r] = h
	}
	t.host = host
	return host, nil
}

// Nodes is how the ranks of a communicator sit on hosts, and the two
// communicators of a hierarchical collective: the ranks of this host, and
// one leader per host.
//
// Hosts are numbered 0..Hosts-1 in the order of their lowest rank in the
// communicator; a host's leader is that rank, and host h's leader has rank
// h in Leaders.
//
// A Nodes and its communicators are made the first time Nodes is called
// on a communicator, without communication (the world's table of hosts is
// read from the job's store once per process), and kept with it: later
// calls return the same value. Local and Leaders have contexts of their
// own, derived from the communicator's, and are meant for the collectives
// of the communicator (package collectives' hierarchical algorithms): they
// must be used in the communicator's collective order, on every rank, and
// not from two goroutines at once, like the communicator's collectives.
// A Nodes is immutable and safe for concurrent use.
type Nodes struct {
	// Hosts is the number of hosts the communicator's ranks are on.
	Hosts int
	// MaxLocal is the largest number of the communicator's ranks on one
	// host.
	MaxLocal int
	// Blocked reports whether every host's ranks are consecutive ranks
	// of the communicator (ranks placed by slot), so that combining each
	// host's ranks, then the hosts in order, keeps rank order.
	Blocked bool
	// Local holds the communicator's ranks on this rank's host, in the
	// communicator's order; its rank 0 is the host's leader.
	Local *Comm
	// Leaders holds each host's leader, host 0 first; nil on a rank that
	// is not its host's leader.
	Leaders *Comm

	host, local []int // rank -> host index, rank -> rank in its Local
}

// Host returns the host index of rank r of the communicator: the rank of
// that host's leader in Leaders. It has no error result: r out of range
// panics.
func (n *Nodes) Host(r int) int { return n.host[r] }

// LocalRank returns the rank that rank r of the communicator has in its
// host's Local communicator. It has no error result: r out of range
// panics.
func (n *Nodes) LocalRank(r int) int { return n.local[r] }

// The child sequence numbers of the Local and Leaders communicators: far
// above any that Dup and Split take, so no member needs to agree on when
// they were made.
const (
	nodesLocalSeq   = 1 << 63
	nodesLeadersSeq = 1<<63 + 1
)

// Nodes returns how c's ranks sit on hosts (see Nodes), made on the first
// call and cached with c. Every rank may call it at any time: it does not
// communicate. Errors: reading the hosts from the job's store failed
// (the store is gone, ctx ended), or c is a collective view
// (ErrInvalidArgument).
func (c *Comm) Nodes(ctx context.Context) (*Nodes, error) {
	if n := c.nodes.Load(); n != nil {
		return n, nil
	}
	if c.sys == nil {
		return nil, argErrorf(ErrInvalidArgument, "comm: Nodes: called on a collective view")
	}
	wh, err := c.world().worldHosts(ctx)
	if err != nil {
		return nil, err
	}
	p := len(c.group)
	n := &Nodes{host: make([]int, p), local: make([]int, p), Blocked: true}
	index := make(map[int]int) // world host -> host index in c
	var count []int            // ranks so far per host
	var leaders []int          // world rank of each host's leader
	for r, w := range c.group {
		h, ok := index[wh[w]]
		if !ok {
			h = len(count)
			index[wh[w]] = h
			count = append(count, 0)
			leaders = append(leaders, w)
		} else if n.host[r-1] != h {
			n.Blocked = false
		}
		n.host[r], n.local[r] = h, count[h]
		count[h]++
		n.MaxLocal = max(n.MaxLocal, count[h])
	}
	n.Hosts = len(count)
	me := n.host[c.rank]
	local := make([]int, 0, count[me])
	for r, w := range c.group {
		if n.host[r] == me {
			local = append(local, w)
		}
	}
	myWorld := c.group[c.rank]
	n.Local = newComm(c.e, deriveCtx(c.ctx, nodesLocalSeq), local, myWorld)
	if n.local[c.rank] == 0 {
		n.Leaders = newComm(c.e, deriveCtx(c.ctx, nodesLeadersSeq), leaders, myWorld)
	}
	if !c.nodes.CompareAndSwap(nil, n) {
		return c.nodes.Load(), nil // another goroutine made the same one first
	}
	return n, nil
}

// SplitType partitions c by kind, like MPI_Comm_split_type: with
// TypeShared, the ranks of c on each host form a communicator, ordered by
// key and then by rank in c (pass 0 to keep c's order). Undefined as kind
// takes part and gets nil. Collective over c, with one exchange of keys
// (as Split). Errors: a kind other than TypeShared and Undefined wraps
// ErrInvalidArgument (the rank takes part in the exchange all the same,
// so the others are not left waiting, and gets nil); the errors of Nodes
// and of Split.
func (c *Comm) SplitType(ctx context.Context, kind SplitKind, key int) (*Comm, error) {
	color := Undefined
	var bad error
	switch kind {
	case TypeShared:
		n, err := c.Nodes(ctx)
		if err != nil {
			return nil, fmt.Errorf("comm: SplitType: %w", err)
		}
		color = n.host[c.rank]
	case SplitKind(Undefined):
	default:
		bad = argErrorf(ErrInvalidArgument, "comm: SplitType: split kind %d (want TypeShared or Undefined)", kind)
	}
	nc, err := c.Split(ctx, color, key)
	if err != nil {
		return nil, fmt.Errorf("comm: SplitType: %w", err)
	}
	return nc, bad
}
