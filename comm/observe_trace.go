package comm

import (
	"encoding/json"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorun-hpc/gorun/comm/rendezvous"
)

// The rank's trace for gorun --trace: with rendezvous.TraceEnv set, every
// call that --stats counts is also recorded as an event in a ring of
// TraceRing events (the oldest are dropped, and counted, when it is full),
// sent over the agent link when the rank's statistics are (Close, a
// failed call, a query). A send that succeeded and the receive that got
// its message carry the same flow id: the n-th message from rank a to
// rank b with one context and tag is the n-th that b receives from a with
// them (MPI's non-overtaking rule), so both sides count them.

// TraceRing is how many events a rank keeps for gorun --trace, unless
// the environment variable GORUN_TRACE_RING gives another positive number
// (tests use a small one).
const TraceRing = 1 << 16

// traceRing is the ring's size in this process.
var traceRing = func() int64 {
	if n, err := strconv.Atoi(os.Getenv("GORUN_TRACE_RING")); err == nil && n > 0 {
		return int64(n)
	}
	return TraceRing
}()

var traceOn atomic.Bool

// traceEvent is one recorded call. name and alg are kept, not copied.
type traceEvent struct {
	name, alg       string
	t0, dur         int64 // obsNow() at entry; ns
	ctx             uint64
	peer, tag, seq  int32 // world rank (or a collective's root), tag, collective sequence
	bytes           int64
	coll            bool
	flowOut, flowIn uint64 // flow ids (0: none)
}

var (
	traceMu    sync.Mutex
	traceBuf   []traceEvent // the ring, made on the first event
	traceCount int64        // events recorded since the start
	traceFlows map[flowKey]uint64
	// traceWall is the wall clock (Unix ns) at obsNow() 0.
	traceWall = obsEpoch.UnixNano()
)

type flowKey struct {
	from, to int
	ctx      uint64
	tag      int
	in       bool // the receiver's count (they differ for messages to self)
}

// flowID returns the id of the next message from world rank from to
// world rank to on ctx with tag, as both sides compute it: the sender
// (in false) and the receiver (in true) count them apart.
func flowID(from, to int, ctx uint64, tag int, in bool) uint64 {
	traceMu.Lock()
	if traceFlows == nil {
		traceFlows = map[flowKey]uint64{}
	}
	k := flowKey{from, to, ctx, tag, in}
	n := traceFlows[k]
	traceFlows[k] = n + 1
	traceMu.Unlock()
	h := uint64(0x243F6A8885A308D3)
	for _, v := range [...]uint64{uint64(from), uint64(to), ctx, uint64(tag), n} {
		h = mix64(h ^ v)
	}
	return h | 1
}

// mix64 is splitmix64's finaliser: the same in every process.
func mix64(z uint64) uint64 {
	z += 0x9E3779B97F4A7C15
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

func traceAdd(ev traceEvent) {
	traceMu.Lock()
	if traceBuf == nil {
		traceBuf = make([]traceEvent, traceRing)
	}
	traceBuf[traceCount%traceRing] = ev
	traceCount++
	traceMu.Unlock()
}

// statsSendrecv counts a Sendrecv on c: sendBytes to dest with sendtag,
// and the receive that got st.
func statsSendrecv(c *Comm, t0 int64, sendBytes, dest, sendtag int, st Status, err error) {
	if t0 == 0 {
		return
	}
	ev := recvEvent(c, st, err)
	if err == nil && dest >= 0 && dest < len(c.group) && traceOn.Load() {
		ev.flowOut = flowID(c.e.rank, c.group[dest], c.ctx, sendtag, false)
	}
	statsAdd(c.ctx, "Sendrecv", "", sendBytes+st.Bytes, t0, ev)
}

// sendTrace sends the rank's ring to the agent, oldest first, in lines
// that fit the link, then a line that ends it.
func (l *agentLink) sendTrace() {
	traceMu.Lock()
	n := traceCount
	first := max(0, n-traceRing)
	evs := make([]rendezvous.TraceEvent, 0, n-first)
	for i := first; i < n; i++ {
		e := traceBuf[i%traceRing]
		te := rendezvous.TraceEvent{Call: e.name, Alg: e.alg, Start: traceWall + e.t0, Dur: e.dur,
			Peer: int(e.peer), Tag: int(e.tag), Bytes: e.bytes, Comm: commName(e.ctx)}
		if e.coll {
			te.Coll, te.Seq = true, int(e.seq)
		}
		if e.flowOut != 0 {
			te.FlowOut = hex64(e.flowOut)
		}
		if e.flowIn != 0 {
			te.FlowIn = hex64(e.flowIn)
		}
		evs = append(evs, te)
	}
	traceMu.Unlock()
	const room = rendezvous.MaxLinkLine - len(rendezvous.LinkTrace) - 2
	var line []byte
	flush := func() bool {
		if len(line) == 0 {
			return true
		}
		line = append(line, "]}"...)
		err := l.send(rendezvous.LinkTrace, string(line))
		line = line[:0]
		return err == nil
	}
	for _, te := range evs {
		b, _ := json.Marshal(te)
		if len(`{"e":[`)+len(b)+2 > room {
			continue // cannot happen with gorun's names; never send a cut line
		}
		if len(line) > 0 && len(line)+1+len(b)+2 > room {
			if !flush() {
				return
			}
		}
		if len(line) == 0 {
			line = append(line, `{"e":[`...)
		} else {
			line = append(line, ',')
		}
		line = append(line, b...)
	}
	if !flush() {
		return
	}
	end, _ := json.Marshal(rendezvous.TraceChunk{End: true, Recorded: n, Dropped: first, Ring: int(traceRing), Now: time.Now().UnixNano()})
	l.send(rendezvous.LinkTrace, string(end))
}

func hex64(v uint64) string {
	const digits = "0123456789abcdef"
	var b [16]byte
	for i := range b {
		b[15-i] = digits[v>>(4*i)&15]
	}
	return string(b[:])
}
