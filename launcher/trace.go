package launcher

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/gorun-hpc/gorun/comm/rendezvous"
)

// The job's trace (gorun --trace FILE): ranks that use comm record their
// calls when the agent sets rendezvous.TraceEnv, in a ring of
// comm.TraceRing events each, and send them when they send their
// statistics (stats.go); the agent forwards each chunk (msgTrace). At the
// start the head measures each remote agent's clock against its own
// (msgClock, the round trip with the smallest delay of clockSamples); at
// the end it writes one Chrome trace-event JSON file (Perfetto and
// chrome://tracing open it): a process per rank, its calls as slices on
// as few tracks as keep them nested, and a flow arrow from each send to
// the receive that got its message.

// Message kinds of the trace: msgTrace (agent to head: Rank, Data a
// TraceChunk's JSON) and msgClock (head to agent: a clock probe; agent to
// head: At, its clock, Unix ns).
const (
	msgTrace = "trace"
	msgClock = "clock"
)

// clockSamples is how many round trips measure an agent's clock offset.
const clockSamples = 8

// traceRank is what the head holds of one rank's trace.
type traceRank struct {
	events  []rendezvous.TraceEvent
	end     bool
	dropped int64
	ring    int
}

// traceChunk takes a chunk of a rank's trace from its agent.
func (o *observer) traceChunk(m *message) {
	c, err := rendezvous.ParseTrace(string(m.Data))
	if err != nil {
		o.h.logf("gorun: rank %d: ignoring a trace chunk: %v", m.Rank, err)
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.traces == nil {
		o.traces = map[int]*traceRank{}
	}
	tr := o.traces[m.Rank]
	if tr == nil {
		tr = &traceRank{}
		o.traces[m.Rank] = tr
	}
	if tr.end {
		return
	}
	tr.events = append(tr.events, c.Events...)
	if c.End {
		tr.end, tr.dropped, tr.ring = true, c.Dropped, c.Ring
	}
}

// clockReply takes an agent's answer to a clock probe.
func (o *observer) clockReply(m *message) {
	select {
	case o.clocks <- m:
	default:
	}
}

// measureClocks measures each remote agent's clock offset (its clock
// minus the head's); local agents share the head's clock.
func (o *observer) measureClocks(stop <-chan struct{}) {
	h := o.h
	h.mu.Lock()
	agents := append([]*agentLink(nil), h.agents...)
	h.mu.Unlock()
	offsets := map[string]int64{}
	for _, al := range agents {
		if !al.remote {
			continue
		}
		best := time.Duration(-1)
		var off int64
		for range clockSamples {
			t0 := time.Now()
			if al.c.send(&message{Kind: msgClock}) != nil {
				break
			}
			var reply *message
			t := time.NewTimer(time.Second)
		wait:
			for reply == nil {
				select {
				case m := <-o.clocks:
					if m.Host == al.host {
						reply = m
					}
				case <-t.C:
					break wait
				case <-stop:
					break wait
				}
			}
			t.Stop()
			t2 := time.Now()
			if reply == nil {
				break
			}
			if rtt := t2.Sub(t0); best < 0 || rtt < best {
				best = rtt
				off = reply.At - (t0.UnixNano()+t2.UnixNano())/2
			}
		}
		if best >= 0 {
			offsets[al.host] = off
		}
	}
	o.mu.Lock()
	o.offsets = offsets
	o.mu.Unlock()
}

// chromeEvent is one event of the Chrome trace-event format.
type chromeEvent struct {
	Name string         `json:"name"`
	Cat  string         `json:"cat,omitempty"`
	Ph   string         `json:"ph"`
	Ts   float64        `json:"ts"`
	Dur  *float64       `json:"dur,omitempty"`
	Pid  int            `json:"pid"`
	Tid  int            `json:"tid"`
	ID   string         `json:"id,omitempty"`
	BP   string         `json:"bp,omitempty"`
	Args map[string]any `json:"args,omitempty"`
}

// chromeTrace is the file --trace writes.
type chromeTrace struct {
	TraceEvents     []chromeEvent  `json:"traceEvents"`
	DisplayTimeUnit string         `json:"displayTimeUnit"`
	OtherData       map[string]any `json:"otherData"`
}

// buildTrace lays the ranks' events out as a Chrome trace.
func (o *observer) buildTrace(np int) (chromeTrace, int64, int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := chromeTrace{TraceEvents: []chromeEvent{}, DisplayTimeUnit: "ms"}
	var t0 int64 = -1
	shift := func(r int) int64 { return o.offsets[o.h.hostOf(r)] }
	for r, tr := range o.traces {
		for _, e := range tr.events {
			if s := e.Start - shift(r); t0 < 0 || s < t0 {
				t0 = s
			}
		}
	}
	type end struct {
		pid, tid int
		ts       float64
	}
	outs, ins := map[string]end{}, map[string]end{}
	dropped := map[string]int64{}
	var total int64
	var events int
	for r := range np {
		tr := o.traces[r]
		out.TraceEvents = append(out.TraceEvents,
			chromeEvent{Name: "process_name", Ph: "M", Pid: r, Args: map[string]any{"name": fmt.Sprintf("rank %d", r)}},
			chromeEvent{Name: "process_sort_index", Ph: "M", Pid: r, Args: map[string]any{"sort_index": r}})
		if tr == nil {
			continue
		}
		dropped[fmt.Sprint(r)] = tr.dropped
		total += tr.dropped
		evs := append([]rendezvous.TraceEvent(nil), tr.events...)
		sort.SliceStable(evs, func(i, j int) bool {
			if evs[i].Start != evs[j].Start {
				return evs[i].Start < evs[j].Start
			}
			return evs[i].Dur > evs[j].Dur // the enclosing call first
		})
		var lanes [][]int64 // per track, the ends of the open slices
		for _, e := range evs {
			start := e.Start - shift(r)
			stop := start + e.Dur
			lane := -1
			for i := range lanes {
				st := lanes[i]
				for len(st) > 0 && st[len(st)-1] <= start {
					st = st[:len(st)-1]
				}
				lanes[i] = st
				if len(st) == 0 || stop <= st[len(st)-1] {
					lane = i
					break
				}
			}
			if lane < 0 {
				lane = len(lanes)
				lanes = append(lanes, nil)
				name := "calls"
				if lane > 0 {
					name = fmt.Sprintf("calls (%d)", lane+1)
				}
				out.TraceEvents = append(out.TraceEvents, chromeEvent{Name: "thread_name", Ph: "M", Pid: r, Tid: lane, Args: map[string]any{"name": name}})
			}
			lanes[lane] = append(lanes[lane], stop)
			ts := float64(start-t0) / 1e3
			dur := float64(e.Dur) / 1e3
			args := map[string]any{"comm": e.Comm}
			cat := "p2p"
			if e.Coll {
				cat = "collective"
				args["seq"] = e.Seq
				if e.Alg != "" {
					args["algorithm"] = e.Alg
				}
				if e.Peer >= 0 {
					args["root"] = e.Peer
				}
			} else {
				if e.Peer >= 0 {
					args["peer"] = e.Peer
				} else if e.Peer == -1 {
					args["peer"] = "any"
				}
				if e.Tag >= 0 {
					args["tag"] = e.Tag
				}
			}
			if e.Bytes > 0 {
				args["bytes"] = e.Bytes
			}
			out.TraceEvents = append(out.TraceEvents, chromeEvent{Name: e.Call, Cat: cat, Ph: "X", Ts: ts, Dur: &dur, Pid: r, Tid: lane, Args: args})
			events++
			// Flow ends sit inside their slices, near the send's start
			// and the receive's end.
			in := min(dur/2, 0.5)
			if e.FlowOut != "" {
				outs[e.FlowOut] = end{r, lane, ts + in}
			}
			if e.FlowIn != "" {
				ins[e.FlowIn] = end{r, lane, ts + dur - in}
			}
		}
	}
	ids := make([]string, 0, len(outs))
	for id := range outs {
		if _, ok := ins[id]; ok {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		s, f := outs[id], ins[id]
		out.TraceEvents = append(out.TraceEvents,
			chromeEvent{Name: "message", Cat: "message", Ph: "s", ID: id, Pid: s.pid, Tid: s.tid, Ts: s.ts},
			chromeEvent{Name: "message", Cat: "message", Ph: "f", BP: "e", ID: id, Pid: f.pid, Tid: f.tid, Ts: f.ts})
	}
	ring := 0
	for _, tr := range o.traces {
		ring = max(ring, tr.ring)
	}
	out.OtherData = map[string]any{"ranks": np, "ring_events_per_rank": ring, "dropped_events": dropped,
		"clock_offsets_ns": o.offsets, "flows": len(ids)}
	return out, total, events
}

// hostOf is the host rank r runs on, as its agent named it.
func (h *head) hostOf(r int) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hosts[r]
}

// writeTrace writes the job's trace at its end.
func (o *observer) writeTrace() {
	file := o.h.job.Observe.Trace
	if file == "" {
		return
	}
	tr, dropped, n := o.buildTrace(o.h.job.NP)
	b, err := json.Marshal(tr)
	if err == nil {
		err = os.WriteFile(file, b, 0o644)
	}
	if err != nil {
		o.h.logf("gorun: writing the trace: %v", err)
		return
	}
	o.h.logf("gorun: trace of %d calls written to %s; %d dropped (each rank keeps its last %d)", n, file, dropped, tr.OtherData["ring_events_per_rank"])
}
