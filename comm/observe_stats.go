package comm

import (
	"encoding/json"
	"errors"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/gorun-hpc/gorun/comm/rendezvous"
)

// Call statistics for gorun --stats (comm/rendezvous/agentlink.go,
// LinkStats). When the agent sets rendezvous.StatsEnv, every user-level
// call (not the point-to-point traffic inside collectives) adds its count,
// bytes and time to a table, sent to the agent when Close finishes, when a
// call fails because the job is aborted or a peer is lost, or when the
// agent asks. With rendezvous.TraceEnv, the same calls are recorded as
// events (observe_trace.go). Otherwise each call pays one atomic load of
// countOn.

var (
	statsOn atomic.Bool // gorun --stats
	countOn atomic.Bool // --stats or --trace: the hooks are on
)

func init() {
	statsOn.Store(os.Getenv(rendezvous.StatsEnv) == "1")
	traceOn.Store(os.Getenv(rendezvous.TraceEnv) == "1")
	countOn.Store(statsOn.Load() || traceOn.Load())
}

type statsKey struct{ call, alg string }

var (
	statsMu       sync.Mutex
	statsTable    = map[statsKey]*rendezvous.CallStats{}
	statsComm     int64        // ns inside counted calls
	statsBegin    atomic.Int64 // obsNow() when Init returned
	statsSentOnce atomic.Bool
)

// statsAdd counts one call of name (and algorithm alg) on context ctx that
// moved bytes and started at obsNow() t0, and records it as ev (its name,
// times and context filled in here) when tracing. Calls on a collective
// context are a collective's steps: the collective counts for them.
func statsAdd(ctx uint64, name, alg string, bytes int, t0 int64, ev traceEvent) {
	if ctx&1 == 1 {
		return
	}
	d := max(0, obsNow()-t0)
	if traceOn.Load() {
		ev.name, ev.alg, ev.t0, ev.dur, ev.ctx, ev.bytes = name, alg, t0, d, ctx, int64(bytes)
		traceAdd(ev)
	}
	if !statsOn.Load() {
		return
	}
	statsMu.Lock()
	defer statsMu.Unlock()
	k := statsKey{name, alg}
	s := statsTable[k]
	if s == nil {
		s = &rendezvous.CallStats{Call: name, Alg: alg}
		statsTable[k] = s
	}
	s.Count++
	s.Bytes += int64(bytes)
	s.Total += d
	s.Max = max(s.Max, d)
	statsComm += d
}

// statsStart is obsNow() when stats or the trace are on, else 0 (nothing
// to count).
func statsStart() int64 {
	if !countOn.Load() {
		return 0
	}
	return max(1, obsNow())
}

// statsCall counts a call that started at t0 (from statsStart) on c.
func statsCall(c *Comm, name string, bytes int, t0 int64) {
	if t0 != 0 {
		statsAdd(c.ctx, name, "", bytes, t0, traceEvent{peer: -2, tag: -1})
	}
}

// statsSent counts a send of bytes to rank dest of c with tag; one that
// succeeded starts a flow to its receive in the trace.
func statsSent(c *Comm, name string, bytes int, t0 int64, dest, tag int, err error) {
	if t0 == 0 {
		return
	}
	ev := traceEvent{peer: -2, tag: int32(tag)}
	if dest >= 0 && dest < len(c.group) {
		ev.peer = int32(c.group[dest])
		if err == nil && traceOn.Load() {
			ev.flowOut = flowID(c.e.rank, c.group[dest], c.ctx, tag, false)
		}
	}
	statsAdd(c.ctx, name, "", bytes, t0, ev)
}

// statsRecvd counts a receive on c that got st; one that succeeded ends
// the flow from its send in the trace.
func statsRecvd(c *Comm, name string, t0 int64, st Status, err error) {
	if t0 == 0 {
		return
	}
	statsAdd(c.ctx, name, "", st.Bytes, t0, recvEvent(c, st, err))
}

// recvEvent is the trace event of a receive on c that got st.
func recvEvent(c *Comm, st Status, err error) traceEvent {
	ev := traceEvent{peer: -2, tag: int32(st.Tag)}
	if err == nil && st.Source >= 0 && st.Source < len(c.group) {
		ev.peer = int32(c.group[st.Source])
		if traceOn.Load() {
			ev.flowIn = flowID(c.group[st.Source], c.e.rank, c.ctx, st.Tag, true)
		}
	}
	return ev
}

// statsWait counts a Wait on r that started at t0: the requests of
// non-blocking calls (a blocking call counts its own wait) and general
// requests (non-blocking collectives). A request that failed because the
// job is aborted or a peer is lost sends the rank's table at once: the
// program may exit next.
func statsWait(r *Request, t0 int64) {
	if r.fin.Load() && r.err != nil && (errors.Is(r.err, ErrAborted) || errors.Is(r.err, ErrPeerLost)) {
		theLink.Load().sendStats()
	}
	if r.kind == kindGeneral {
		statsAdd(r.c.ctx&^1, "Wait", "", 0, t0, traceEvent{peer: -2, tag: -1})
	} else if len(r.call) > 1 && r.call[0] == 'I' {
		ev := traceEvent{peer: int32(r.peer), tag: int32(r.userTag)}
		if r.kind == kindRecv && r.fin.Load() {
			ev = recvEvent(r.c, r.status, r.err)
		}
		statsAdd(r.ctx, "Wait", "", 0, t0, ev)
	}
}

// statsSpan counts the collective of slot t as it ends.
func statsSpan(t obsToken) {
	s := &obsTable[t]
	meta := s.meta.Load()
	name := unsafe.String(s.name.Load(), int(uint16(meta)))
	var alg string
	if n := uint16(meta >> 32); n > 0 {
		alg = unsafe.String(s.alg.Load(), int(n))
	}
	peer := s.peer.Load()
	seq := uint32(s.tag.Load())
	statsAdd(s.ctx.Load(), name, alg, int(s.bytes.Load()), s.start.Load(),
		traceEvent{coll: true, peer: int32(peer), tag: -1, seq: int32(seq)})
}

// statsLines are the LinkStats arguments of the rank's table: one per
// call and algorithm, by name, then the totals (Call "").
func statsLines() []string {
	statsMu.Lock()
	all := make([]rendezvous.CallStats, 0, len(statsTable)+1)
	for _, s := range statsTable {
		all = append(all, *s)
	}
	total := rendezvous.CallStats{Total: statsComm, Wall: obsNow() - statsBegin.Load()}
	statsMu.Unlock()
	sort.Slice(all, func(i, j int) bool {
		if all[i].Call != all[j].Call {
			return all[i].Call < all[j].Call
		}
		return all[i].Alg < all[j].Alg
	})
	all = append(all, total)
	out := make([]string, len(all))
	for i, s := range all {
		b, _ := json.Marshal(s)
		out[i] = string(b)
	}
	return out
}

// sendStats sends the rank's table (and trace) to the agent, once.
func (l *agentLink) sendStats() {
	if l == nil || !countOn.Load() || !statsSentOnce.CompareAndSwap(false, true) {
		return
	}
	if traceOn.Load() {
		l.sendTrace() // observe_trace.go
	}
	if !statsOn.Load() {
		return
	}
	for _, line := range statsLines() {
		if l.send(rendezvous.LinkStats, line) != nil {
			return
		}
	}
}
