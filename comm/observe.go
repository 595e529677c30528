package comm

import (
	"encoding/json"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/gorun-hpc/gorun/comm/rendezvous"
)

// The rank's record of what it is blocked in, for gorun's stall and
// deadlock reports (comm/rendezvous/agentlink.go, LinkQuery). A goroutine
// that blocks in a call (the slow path of Request.Wait, Probe and Mprobe;
// every collective of package collectives, through BeginCollective) holds
// one slot of a fixed table while it waits; a goroutine outside every call
// holds none, which is how a computing rank looks. The calls that complete
// at once (an eager send, a receive whose message had arrived) never touch
// the table. Each completed request adds one to a progress counter.
//
// Cost: claiming a slot is one compare-and-swap and a few atomic stores,
// releasing it one store, on paths that are about to wait anyway; the
// progress counter is one atomic add per completed request. Nothing
// allocates and nothing locks. Reading the table (a query from the agent)
// copies each live slot and discards a slot that changed while it was
// read.

// obsSlotCount bounds the calls recorded at once per process; further
// concurrent calls are counted (obsOverflow) but not described.
const obsSlotCount = 32

// Slot phases (the low two bits of obsSlot.state; the rest counts uses).
const (
	slotFree    = 0
	slotWriting = 1
	slotLive    = 2
)

// Slot flags.
const (
	slotColl  = 1 << iota // a collective: seq and root are set
	slotWait              // Wait on a request started by a non-blocking call
	slotProbe             // a probe
)

type obsSlot struct {
	state atomic.Uint64 // use count << 2 | phase
	e     atomic.Pointer[engine]
	name  atomic.Pointer[byte] // the call's name (string data)
	alg   atomic.Pointer[byte] // a collective's algorithm (string data)
	meta  atomic.Uint64        // len(name) | flags << 16 | len(alg) << 32
	peer  atomic.Int64         // world rank << 32 | uint32(comm rank); or a collective's root
	tag   atomic.Int64         // tag << 32 | uint32(collective sequence number)
	ctx   atomic.Uint64
	bytes atomic.Int64
	start atomic.Int64 // obsNow() at entry
	_     [48]byte     // one slot per 128 bytes: goroutines claiming slots do not share lines
}

var (
	obsTable    [obsSlotCount]obsSlot
	obsOverflow atomic.Int64  // calls that found no free slot, now in progress
	obsProgress atomic.Uint64 // requests completed
	obsEpoch    = time.Now()
)

// obsNow is the monotonic time in nanoseconds since the package started.
func obsNow() int64 { return int64(time.Since(obsEpoch)) }

// obsToken names the slot a call holds: -1 for none.
type obsToken int32

// obsEnter claims a slot for a call of engine e and describes it; the
// caller passes the token to obsExit when the call returns.
func obsEnter(e *engine, name string, flags int32, worldPeer, commPeer, tag int, ctx uint64, seq, bytes int) obsToken {
	for i := range obsTable {
		s := &obsTable[i]
		st := s.state.Load()
		if st&3 != slotFree || !s.state.CompareAndSwap(st, st|slotWriting) {
			continue
		}
		s.e.Store(e)
		s.name.Store(unsafe.StringData(name))
		s.meta.Store(uint64(uint16(len(name))) | uint64(uint8(flags))<<16)
		s.peer.Store(int64(worldPeer)<<32 | int64(uint32(int32(commPeer))))
		s.tag.Store(int64(tag)<<32 | int64(uint32(seq)))
		s.ctx.Store(ctx)
		s.bytes.Store(int64(bytes))
		s.start.Store(obsNow())
		s.state.Store(st&^3 | slotLive)
		return obsToken(i)
	}
	obsOverflow.Add(1)
	return -1
}

// obsExit releases the slot of t.
func obsExit(t obsToken) {
	if t < 0 {
		obsOverflow.Add(-1)
		return
	}
	s := &obsTable[t]
	s.state.Store(s.state.Load()&^3 + 4) // next use, free
}

// obsDone is obsExit for a token that may be -2: nothing was recorded.
func obsDone(t obsToken) {
	if t != -2 {
		obsExit(t)
	}
}

// obsWait records a goroutine blocking in Wait on r (the slow path).
func obsWait(r *Request) obsToken {
	if r.kind == kindGeneral {
		return obsEnter(r.e, "Wait", slotWait, -2, -2, -1, r.c.ctx, 0, 0)
	}
	var flags int32
	if len(r.call) > 1 && r.call[0] == 'I' {
		flags = slotWait
	}
	bytes := 0
	if !r.alloc { // an allocating receive's buffer is made by the engine at the match
		bytes = len(r.buf)
	}
	return obsEnter(r.e, r.call, flags, r.peer, r.userPeer, r.userTag, r.ctx, 0, bytes)
}

// obsProbe records a goroutine blocking in a probe of c.
func (c *Comm) obsProbe(call string, worldPeer, source, tag int) obsToken {
	return obsEnter(c.e, call, slotProbe, worldPeer, source, tag, c.ctx, 0, 0)
}

// Span is one collective call in the rank's record of what it is blocked
// in (gorun's stall and deadlock reports). Package collectives begins one
// at each collective's entry, after its arguments are checked, and ends it
// when the call returns; other libraries that build collectives on
// Collective may do the same. The zero Span is valid and does nothing.
type Span struct{ t int32 } // the slot's token + 2; 0: the zero Span

// BeginCollective marks the calling goroutine as inside collective call
// name on c (a constant such as "Allreduce"; it is kept, not copied), with
// root (-1 for a collective without one) and base the base tag that
// Collective returned for the call (its sequence number is base /
// StepsPerCollective); Algorithm adds the algorithm and payload once
// they are known. It never fails and
// never allocates: a few atomic stores, and when more than 32 calls of the
// process are under way at once the call is counted but not described.
// Safe for concurrent use; end the span with End on the same goroutine.
func (c *Comm) BeginCollective(name string, root, base int) Span {
	return Span{int32(obsEnter(c.e, name, slotColl, root, root, -1, c.ctx, base/StepsPerCollective, 0)) + 2}
}

// Algorithm records the algorithm the span's collective runs and the
// rank's payload in bytes, and returns alg (so that a selector's result
// can pass through it). alg is kept, not copied.
func (s Span) Algorithm(alg string, bytes int) string {
	if s.t >= 2 {
		sl := &obsTable[s.t-2]
		sl.alg.Store(unsafe.StringData(alg))
		sl.meta.Store(sl.meta.Load()&0xffffffff | uint64(uint16(len(alg)))<<32)
		sl.bytes.Store(int64(bytes))
	}
	return alg
}

// End marks the span's call as returned. Call it once per span.
func (s Span) End() {
	if s.t != 0 {
		if s.t >= 2 && countOn.Load() {
			statsSpan(obsToken(s.t - 2)) // observe_stats.go
		}
		obsExit(obsToken(s.t - 2))
	}
}

// cpuTime is the process's CPU time (user and system), in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// commName names a communicator context in reports: "world" for the
// world's, "comm 0x…" for the others (a collective context as its
// communicator's).
func commName(ctx uint64) string {
	ctx &^= 1
	if ctx == 0 {
		return "world"
	}
	return "comm 0x" + strconv.FormatUint(ctx>>32, 16)
}

// observeState is what the rank tells gorun when asked what it is blocked
// in: engine e's calls in progress (every call when e is nil).
func observeState(e *engine) rendezvous.RankState {
	st := rendezvous.RankState{Progress: obsProgress.Load(), CPU: cpuTime(), More: int(obsOverflow.Load())}
	now := obsNow()
	for i := range obsTable {
		s := &obsTable[i]
		s1 := s.state.Load()
		if s1&3 != slotLive {
			continue
		}
		se := s.e.Load()
		meta := s.meta.Load()
		name := unsafe.String(s.name.Load(), int(uint16(meta)))
		flags := int32(uint8(meta >> 16))
		peer := s.peer.Load()
		tagseq := s.tag.Load()
		tag, seq := tagseq>>32, int64(uint32(tagseq))
		ctx := s.ctx.Load()
		bytes := s.bytes.Load()
		start := s.start.Load()
		var alg string
		if n := uint16(meta >> 32); n > 0 {
			alg = unsafe.String(s.alg.Load(), int(n))
		}
		if s.state.Load() != s1 || (e != nil && se != e) {
			continue // reused while read, or another world's (tests)
		}
		cs := rendezvous.CallState{
			Call:  name,
			Comm:  commName(ctx),
			Bytes: int(bytes),
			For:   max(0, now-start),
		}
		switch {
		case flags&slotColl != 0:
			cs.Coll = true
			cs.Alg = alg
			cs.Seq = int(seq)
			cs.Peer = int(int32(peer))
			cs.CommPeer = cs.Peer
			cs.Tag = -1
		default:
			cs.Peer = int(peer >> 32)
			cs.CommPeer = int(int32(uint32(peer)))
			cs.Tag = int(tag)
			cs.Inner = ctx&1 == 1
			cs.Wait = flags&slotWait != 0
			cs.Probe = flags&slotProbe != 0
		}
		st.Calls = append(st.Calls, cs)
	}
	return st
}

// encodeState encodes st for one agent link line after prefix, dropping
// the shortest-waiting calls (counted in More) until it fits.
func encodeState(prefix string, st rendezvous.RankState) string {
	for {
		b, _ := json.Marshal(st)
		if len(prefix)+len(b)+len(rendezvous.LinkState)+2 <= rendezvous.MaxLinkLine || len(st.Calls) == 0 {
			return prefix + string(b)
		}
		// Keep the longest waits: drop the most recent call.
		j := 0
		for i, c := range st.Calls {
			if c.For < st.Calls[j].For {
				j = i
			}
		}
		st.Calls = append(st.Calls[:j], st.Calls[j+1:]...)
		st.More++
	}
}

// answer answers the agent's query arg ("ID" or "ID stacks"): the
// goroutines' stacks first when asked for, then the state.
func (l *agentLink) answer(arg string) {
	id, flag, _ := strings.Cut(arg, " ")
	l.mu.Lock()
	w := l.world
	l.mu.Unlock()
	var e *engine
	if w != nil {
		e = w.e
	}
	if flag == "stats" {
		l.sendStats() // observe_stats.go
	}
	if flag == "stacks" {
		for _, line := range programStacks(maxStackLines) {
			if l.send(rendezvous.LinkStack, id+" "+line) != nil {
				return
			}
		}
	}
	st := observeState(e)
	if flag == "check" {
		st.Checked, st.Busy = true, busyGoroutines(allStacks())
	}
	l.send(rendezvous.LinkState, encodeState(id+" ", st))
}

// allStacks is runtime.Stack of every goroutine.
func allStacks() string {
	buf := make([]byte, 1<<16)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) || len(buf) >= 64<<20 {
			return string(buf[:n])
		}
		buf = make([]byte, 2*len(buf))
	}
}

// startedByComm reports whether the goroutine of stack g is one comm
// started for itself (a link reader, the heartbeat, the agent link's
// reader that answers queries), not one of the program's (package comm's
// own tests and examples are the program's).
func startedByComm(g string) bool {
	const pfx = "\ncreated by github.com/gorun-hpc/gorun/comm."
	i := strings.Index(g, pfx)
	if i < 0 {
		return false
	}
	rest := g[i+len(pfx):]
	for _, p := range []string{"Test", "Example", "Benchmark", "Fuzz"} {
		if strings.HasPrefix(rest, p) {
			return false
		}
	}
	return true
}

// waitStates are the goroutine states of a goroutine that waits for
// another goroutine of its process.
var waitStates = []string{"chan receive", "chan send", "select", "semacquire", "sync.Cond.Wait",
	"sync.Mutex.Lock", "sync.RWMutex.Lock", "sync.RWMutex.RLock", "sync.WaitGroup.Wait"}

// blockingFrames are the frames of a goroutine blocked in a gorun call.
var blockingFrames = []string{"github.com/gorun-hpc/gorun/comm.(*Request).Wait(",
	"github.com/gorun-hpc/gorun/comm.(*Comm).Probe(", "github.com/gorun-hpc/gorun/comm.(*Comm).Mprobe("}

// busyGoroutines counts the goroutines of dump (runtime.Stack's text)
// that belong to the program (not started by comm itself) and are
// neither in a gorun call nor waiting for another goroutine.
func busyGoroutines(dump string) int {
	busy := 0
	for _, g := range strings.Split(dump, "\n\n") {
		head, _, _ := strings.Cut(g, "\n")
		if !strings.HasPrefix(head, "goroutine ") || startedByComm(g) {
			continue
		}
		blocked := false
		for _, f := range blockingFrames {
			if strings.Contains(g, f) {
				blocked = true
				break
			}
		}
		if blocked || strings.Contains(g, "\nos/signal.signal_recv(") {
			continue // in a gorun call, or os/signal's loop waiting for a signal
		}
		state := head
		if i := strings.IndexByte(state, '['); i >= 0 {
			state = state[i+1:]
		}
		state, _, _ = strings.Cut(state, "]")
		state, _, _ = strings.Cut(state, ",") // ", 2 minutes", ", locked to thread"
		waiting := false
		for _, w := range waitStates {
			if strings.HasPrefix(state, w) {
				waiting = true
				break
			}
		}
		if !waiting {
			busy++
		}
	}
	return busy
}

// maxStackLines bounds the stack lines one rank sends for a query.
const maxStackLines = 400

// programStacks returns the stacks of the program's goroutines, at most
// limit lines: every goroutine but those comm started for itself (link
// readers, heartbeats, this one).
func programStacks(limit int) []string {
	var out []string
	for _, g := range strings.Split(allStacks(), "\n\n") {
		if startedByComm(g) {
			continue
		}
		for _, line := range strings.Split(strings.TrimRight(g, "\n"), "\n") {
			if len(out) == limit {
				return append(out, "…")
			}
			out = append(out, strings.ReplaceAll(line, "\t", "    "))
		}
		out = append(out, "")
	}
	return out
}
