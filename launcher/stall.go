package launcher

import (
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gorun-hpc/gorun/comm/rendezvous"
)

// Stall and deadlock reports. The head asks every agent (msgQuery), each
// agent asks its ranks over their agent links (rendezvous.LinkQuery) and
// answers for all of them at once (msgStates); a rank that does not use
// comm, or does not answer within queryWait, is reported as such. The head
// groups the ranks by what they are blocked in, names a wait-for cycle
// when there is one, and a collective that the ranks of one communicator
// called differently.

// ExitDeadlock is the exit code of a job that gorun ended as deadlocked.
const ExitDeadlock = 125

// DefaultDeadlockTimeout is the default of Observe.DeadlockTimeout: how
// long every running rank must stay blocked in a gorun call, with no
// message moving anywhere and every rank's process idle, before the job
// is declared deadlocked. The README's "Stall and deadlock reports" gives
// the measurements behind it.
const DefaultDeadlockTimeout = 10 * time.Second

// Observe configures what gorun reports about a job's ranks while it runs.
// The zero value reports deadlocks after DefaultDeadlockTimeout, and
// stalls only when asked (SIGQUIT, a --timeout).
type Observe struct {
	// StallReport, if positive, prints what every rank is blocked in
	// whenever some rank waits in a call and no rank's calls have made
	// progress (no request completed) for this long; again after each
	// new stall.
	StallReport time.Duration
	// Stacks adds the stacks of each rank's program goroutines to
	// every report.
	Stacks bool
	// Stats turns call statistics on: "text" prints a table at the end
	// of the job (stats.go), "json:FILE" writes it to FILE as JSON.
	Stats string
	// Trace, if not empty, names the file the job's trace is written to
	// (trace.go).
	Trace string
	// DeadlockTimeout: a job whose every running rank has been blocked
	// in a gorun call for this long, with no progress and its process
	// using no CPU, and whose goroutines are all either in a gorun call
	// or waiting for another goroutine (none asleep, in a system call or
	// waiting for I/O), is reported as deadlocked and ends with
	// ExitDeadlock. 0 means DefaultDeadlockTimeout; negative turns the
	// check off.
	DeadlockTimeout time.Duration
}

// Message kinds of the queries (see protocol.go). msgQuery: Code is the
// query id, Data "stacks" to ask for stacks. msgStates: Code is the id,
// Data the JSON of []rankAnswer.
const (
	msgQuery  = "query"
	msgStates = "states"
)

// queryWait bounds how long an agent waits for its ranks' answers, and
// the head for its agents'.
const queryWait = time.Second

// rankAnswer is one rank's answer to a query, as its agent saw it.
type rankAnswer struct {
	Rank     int                  `json:"rank"`
	Phase    int                  `json:"phase"`
	Answered bool                 `json:"answered"`
	State    rendezvous.RankState `json:"state"`
	Stacks   []string             `json:"stacks,omitempty"`
}

// agentQueries is an agent's side: the queries its ranks are answering.
type agentQueries struct {
	mu      sync.Mutex
	pending map[uint64]*agentQuery
}

type agentQuery struct {
	answers map[int]*rankAnswer
	left    int
	done    chan struct{}
}

// query asks every rank of the agent that uses comm what it is blocked in
// and sends the answers to the head.
func (a *agent) query(m *message) {
	if m.Kind == msgClock {
		a.c.send(&message{Kind: msgClock, At: time.Now().UnixNano(), Host: a.host})
		return
	}
	id := uint64(m.Code)
	q := &agentQuery{answers: map[int]*rankAnswer{}, done: make(chan struct{})}
	arg := strconv.FormatUint(id, 10)
	if f := string(m.Data); f == "stacks" || f == "check" {
		arg += " " + f
	}
	line := rendezvous.FormatLink(rendezvous.LinkQuery, arg)
	var ask []*rankProc
	a.mu.Lock()
	for _, rp := range a.procs {
		rp.mu.Lock()
		phase := rp.phase
		rp.mu.Unlock()
		q.answers[rp.rank] = &rankAnswer{Rank: rp.rank, Phase: phase}
		if phase >= phaseInit {
			ask = append(ask, rp)
		}
	}
	a.mu.Unlock()
	q.left = len(ask)
	a.queries.mu.Lock()
	if a.queries.pending == nil {
		a.queries.pending = map[uint64]*agentQuery{}
	}
	a.queries.pending[id] = q
	a.queries.mu.Unlock()
	if q.left == 0 {
		close(q.done)
	}
	for _, rp := range ask {
		go func() {
			rp.link.SetWriteDeadline(time.Now().Add(queryWait))
			rp.link.Write(line)
		}()
	}
	go func() {
		t := time.NewTimer(queryWait)
		defer t.Stop()
		select {
		case <-q.done:
		case <-t.C:
		}
		a.queries.mu.Lock()
		delete(a.queries.pending, id)
		out := make([]*rankAnswer, 0, len(q.answers))
		for _, ra := range q.answers {
			out = append(out, ra)
		}
		b, _ := json.Marshal(out)
		a.queries.mu.Unlock()
		a.c.send(&message{Kind: msgStates, Code: int(id), Data: b, Host: a.host})
	}()
}

// answered takes a rank's state or stack line for a pending query, or a
// row of its statistics (forwarded at once).
func (a *agent) answered(rp *rankProc, kind rendezvous.LinkKind, arg string) {
	if kind == rendezvous.LinkStats {
		if _, err := rendezvous.ParseStats(arg); err != nil {
			a.complain(rp, err)
			return
		}
		a.c.send(&message{Kind: msgStats, Rank: rp.rank, Data: []byte(arg), Host: a.host})
		return
	}
	if kind == rendezvous.LinkTrace {
		if _, err := rendezvous.ParseTrace(arg); err != nil {
			a.complain(rp, err)
			return
		}
		a.c.send(&message{Kind: msgTrace, Rank: rp.rank, Data: []byte(arg), Host: a.host})
		return
	}
	var st rendezvous.RankState
	id, rest, err := rendezvous.ParseAnswer(kind, arg, &st)
	if err != nil {
		a.complain(rp, err)
		return
	}
	a.queries.mu.Lock()
	defer a.queries.mu.Unlock()
	q := a.queries.pending[id]
	if q == nil {
		return // too late
	}
	ra := q.answers[rp.rank]
	if ra == nil || ra.Answered {
		return
	}
	if kind == rendezvous.LinkStack {
		ra.Stacks = append(ra.Stacks, rest)
		return
	}
	ra.State, ra.Answered = st, true
	if q.left--; q.left == 0 {
		close(q.done)
	}
}

// observer is the head's side: queries in flight, the stall and deadlock
// watch, SIGQUIT.
type observer struct {
	h     *head
	mu    sync.Mutex
	id    uint64
	qs    map[uint64]*headQuery
	stats map[int]*statsRank // stats.go
	// trace.go
	traces  map[int]*traceRank
	offsets map[string]int64 // each host's clock minus the head's, ns
	clocks  chan *message
}

type headQuery struct {
	answers map[int]rankAnswer
	got     int
	want    int
	done    chan struct{}
}

func (h *head) observer() *observer {
	h.obsOnce.Do(func() { h.obs = &observer{h: h, qs: map[uint64]*headQuery{}, clocks: make(chan *message, 4)} })
	return h.obs
}

// states takes an agent's answers to a query (or a row of statistics).
func (o *observer) states(m *message) {
	switch m.Kind {
	case msgStats:
		o.statsRow(m)
		return
	case msgTrace:
		o.traceChunk(m)
		return
	case msgClock:
		o.clockReply(m)
		return
	}
	var as []rankAnswer
	if json.Unmarshal(m.Data, &as) != nil {
		o.h.logf("gorun: ignoring a malformed answer from the agent on %s", m.Host)
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	q := o.qs[uint64(m.Code)]
	if q == nil {
		return
	}
	for _, a := range as {
		q.answers[a.Rank] = a
	}
	if q.got++; q.got == q.want {
		close(q.done)
	}
}

// query asks every agent what its ranks are blocked in and returns the
// answers that came within queryWait (plus a margin for the agents').
func (o *observer) query(flag string, stop <-chan struct{}) map[int]rankAnswer {
	h := o.h
	h.mu.Lock()
	want := len(h.agents) - h.doneAgts
	h.mu.Unlock()
	o.mu.Lock()
	o.id++
	id := o.id
	q := &headQuery{answers: map[int]rankAnswer{}, want: want, done: make(chan struct{})}
	o.qs[id] = q
	o.mu.Unlock()
	if want <= 0 {
		close(q.done)
	}
	m := &message{Kind: msgQuery, Code: int(id), Data: []byte(flag)}
	h.tellAgents(m)
	t := time.NewTimer(queryWait + 500*time.Millisecond)
	defer t.Stop()
	select {
	case <-q.done:
	case <-t.C:
	case <-stop:
	}
	o.mu.Lock()
	delete(o.qs, id)
	out := q.answers
	q.answers = nil
	o.mu.Unlock()
	return out
}

// report asks the ranks and prints what they are blocked in under title.
func (o *observer) report(title string, stacks bool) {
	as := o.query(stacksFlag(stacks), nil)
	o.h.logf("%s", formatReport(title, as, o.h.job.NP))
}

// start starts watch and returns what stops it.
func (o *observer) start() func() {
	stop := make(chan struct{})
	done := make(chan struct{})
	t0 := time.Now()
	go func() {
		defer close(done)
		if o.h.job.Observe.Trace != "" {
			o.measureClocks(stop) // trace.go
		}
		o.watch(stop)
	}()
	return func() {
		close(stop)
		<-done
		o.printStats(time.Since(t0)) // stats.go
		o.writeTrace()               // trace.go
	}
}

// watch runs the stall and deadlock checks and serves SIGQUIT until stop
// is closed.
func (o *observer) watch(stop <-chan struct{}) {
	obs := o.h.job.Observe
	dl := obs.DeadlockTimeout
	if dl == 0 {
		dl = DefaultDeadlockTimeout
	}
	var quit chan os.Signal
	if o.h.job.HandleSignals {
		quit = make(chan os.Signal, 1)
		signal.Notify(quit, syscall.SIGQUIT)
		defer signal.Stop(quit)
	}
	period := time.Duration(0)
	for _, d := range []time.Duration{obs.StallReport, dl} {
		if d > 0 && (period == 0 || d/5 < period) {
			period = d / 5
		}
	}
	var tick <-chan time.Time
	if period > 0 {
		t := time.NewTicker(min(max(period, 20*time.Millisecond), time.Second))
		defer t.Stop()
		tick = t.C
	}
	var w stallWatch
	for {
		select {
		case <-stop:
			return
		case <-quit:
			o.h.logf("%s", formatReport("gorun: SIGQUIT: what every rank is doing", o.query(stacksFlag(obs.Stacks), stop), o.h.job.NP))
		case <-tick:
			as := o.query("", stop)
			now := time.Now()
			select {
			case <-stop:
				return
			default:
			}
			if o.h.isFailed() {
				return
			}
			stalled, deadlocked := w.update(now, as, obs.StallReport, dl)
			if deadlocked && !w.confirm(o.query("check", stop)) {
				// Some goroutine may still make progress on its own
				// (asleep, in a system call, waiting for I/O): look
				// again after another timeout.
				w.blockedFrom = now
				deadlocked = false
			}
			if deadlocked {
				title := fmt.Sprintf("gorun: deadlock: every running rank has been blocked in a gorun call for %v, and no message moved", dl)
				if obs.Stacks {
					as = o.query("stacks", stop)
				}
				o.h.logf("%s", formatReport(title, as, o.h.job.NP))
				o.h.failSoon(failure{at: now.UnixNano(), rank: -1, line: fmt.Sprintf("gorun: the job is deadlocked (no progress for %v); ending it", dl), code: ExitDeadlock}, false)
				return
			}
			if stalled {
				title := fmt.Sprintf("gorun: stall: no progress for %v", obs.StallReport)
				if obs.Stacks {
					as = o.query("stacks", stop)
				}
				o.h.logf("%s", formatReport(title, as, o.h.job.NP))
			}
		}
	}
}

// isFailed reports whether the job is being torn down.
func (h *head) isFailed() bool { return h.verdict.failed() }

// stallWatch follows the answers to successive queries.
type stallWatch struct {
	progress    map[int]uint64 // at the last change
	changed     time.Time      // when progress last changed
	reported    bool           // the current stall was reported
	blockedFrom time.Time      // since when every rank is blocked and idle (zero: not so)
	cpu         map[int]int64  // each rank's CPU time then
}

// idleShare is the share of wall time a blocked rank's process may use
// (answering queries, heartbeats) and still count as idle.
const idleShare = 0.05

// update takes one query's answers at now and reports whether a stall
// report is due (stall > 0) and whether the job is deadlocked.
func (w *stallWatch) update(now time.Time, as map[int]rankAnswer, stall, deadlock time.Duration) (stalled, deadlocked bool) {
	prog := map[int]uint64{}
	anyBlocked, allBlocked := false, len(as) > 0
	for r, a := range as {
		prog[r] = a.State.Progress
		blocked := a.Answered && (len(a.State.Calls) > 0 || a.State.More > 0)
		anyBlocked = anyBlocked || blocked
		if !blocked || a.Phase != phaseReady {
			allBlocked = false
		}
	}
	if w.progress == nil || !sameProgress(w.progress, prog) {
		w.progress, w.changed, w.reported = prog, now, false
		w.blockedFrom = time.Time{}
	}
	if stall > 0 && anyBlocked && !w.reported && now.Sub(w.changed) >= stall {
		w.reported, stalled = true, true
	}
	if !allBlocked || deadlock <= 0 {
		w.blockedFrom = time.Time{}
		return stalled, false
	}
	if w.blockedFrom.IsZero() {
		w.blockedFrom = now
		w.cpu = map[int]int64{}
		for r, a := range as {
			w.cpu[r] = a.State.CPU
		}
		return stalled, false
	}
	span := now.Sub(w.blockedFrom)
	for r, a := range as {
		c0, ok := w.cpu[r]
		if !ok || float64(a.State.CPU-c0) > idleShare*float64(span)+float64(20*time.Millisecond) {
			// A rank whose process computes (another goroutine, a
			// large copy) is not deadlocked: start over.
			w.blockedFrom = now
			for r, a := range as {
				w.cpu[r] = a.State.CPU
			}
			return stalled, false
		}
	}
	return stalled, span >= deadlock
}

// confirm checks a suspected deadlock with every rank's own look at its
// goroutines: none may be busy, and nothing may have moved since.
func (w *stallWatch) confirm(as map[int]rankAnswer) bool {
	if len(as) != len(w.progress) {
		return false
	}
	for r, a := range as {
		if !a.Answered || !a.State.Checked || a.State.Busy > 0 || a.State.Progress != w.progress[r] {
			return false
		}
	}
	return true
}

// stacksFlag is the query flag that asks for stacks, or none.
func stacksFlag(stacks bool) string {
	if stacks {
		return "stacks"
	}
	return ""
}

func sameProgress(a, b map[int]uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for r, p := range a {
		if q, ok := b[r]; !ok || q != p {
			return false
		}
	}
	return true
}

// headline is what a rank is blocked in, for grouping: the collective it
// is in (the one it entered first), or its longest point-to-point wait.
func headline(a rankAnswer) (key string, wait time.Duration) {
	switch {
	case !a.Answered && a.Phase == phaseNone:
		return "not using comm (or not in Init yet): no answer", 0
	case !a.Answered:
		return "no answer", 0
	case a.Phase == phaseClosed && len(a.State.Calls) == 0:
		return "after Close", 0
	case len(a.State.Calls) == 0 && a.State.More == 0:
		return "computing (outside any gorun call)", 0
	}
	var best *rendezvous.CallState
	for i := range a.State.Calls {
		c := &a.State.Calls[i]
		if best == nil || c.Coll && !best.Coll || c.Coll == best.Coll && c.For > best.For {
			best = c
		}
	}
	if best == nil {
		return fmt.Sprintf("%d calls", a.State.More), 0
	}
	return describe(*best), time.Duration(best.For)
}

// describe names one call: "Allreduce #41 on world", "Recv from rank 3
// tag 9".
func describe(c rendezvous.CallState) string {
	if c.Coll {
		s := fmt.Sprintf("%s #%d on %s", c.Call, c.Seq, c.Comm)
		if c.Peer >= 0 {
			s += fmt.Sprintf(", root %d", c.Peer)
		}
		return s
	}
	var s string
	switch {
	case c.Probe:
		s = c.Call + " of"
	case c.Wait:
		s = "Wait on " + c.Call
		if strings.Contains(c.Call, "send") {
			s += " to"
		} else {
			s += " from"
		}
	case strings.Contains(c.Call, "Send") || strings.Contains(c.Call, "send"):
		s = c.Call + " to"
	default:
		s = c.Call + " from"
	}
	switch {
	case c.Peer == -1:
		s += " any source"
	case c.Comm == "world" || c.Inner:
		s += " rank " + strconv.Itoa(c.Peer)
	default:
		s += fmt.Sprintf(" rank %d of %s (world rank %d)", c.CommPeer, c.Comm, c.Peer)
	}
	if c.Inner {
		return s // a collective's step: its tag means nothing to the user
	}
	if c.Tag == -1 {
		s += " any tag"
	} else {
		s += " tag " + strconv.Itoa(c.Tag)
	}
	if c.Comm != "world" {
		s += " on " + c.Comm
	}
	return s
}

// waitsFor is the world rank a blocked rank waits for (-1 if none is
// known): the peer of its longest-waiting point-to-point call.
func waitsFor(a rankAnswer) (int, string) {
	var best *rendezvous.CallState
	for i := range a.State.Calls {
		c := &a.State.Calls[i]
		if c.Coll || c.Peer < 0 {
			continue
		}
		if best == nil || c.For > best.For {
			best = c
		}
	}
	if best == nil {
		return -1, ""
	}
	return best.Peer, describe(*best)
}

// formatReport is the report printed for answers as: a title line, one
// line per group of ranks blocked in the same call, then the wait-for
// cycle and collective mismatches if any, then the stacks asked for.
func formatReport(title string, as map[int]rankAnswer, np int) string {
	var b strings.Builder
	b.WriteString(title)
	b.WriteString("\n")
	type group struct {
		key      string
		ranks    []int
		min, max time.Duration
	}
	groups := map[string]*group{}
	var order []*group
	ranks := make([]int, 0, len(as))
	for r := range as {
		ranks = append(ranks, r)
	}
	sort.Ints(ranks)
	for _, r := range ranks {
		key, d := headline(as[r])
		g := groups[key]
		if g == nil {
			g = &group{key: key, min: d, max: d}
			groups[key] = g
			order = append(order, g)
		}
		g.ranks = append(g.ranks, r)
		g.min, g.max = min(g.min, d), max(g.max, d)
	}
	for _, g := range order {
		fmt.Fprintf(&b, "  %s: %s", rankSet(g.ranks), g.key)
		if g.max > 0 {
			if g.max-g.min < 100*time.Millisecond {
				fmt.Fprintf(&b, ", %s", secs(g.max))
			} else {
				fmt.Fprintf(&b, ", %s–%s", secs(g.min), secs(g.max))
			}
		}
		b.WriteString("\n")
	}
	if missing := np - len(as); missing > 0 {
		fmt.Fprintf(&b, "  %d rank(s) have exited\n", missing)
	}
	// Wait-for edges, and a cycle among them.
	next := map[int]int{}
	edge := map[int]string{}
	for _, r := range ranks {
		if p, what := waitsFor(as[r]); p >= 0 {
			next[r], edge[r] = p, what
		}
	}
	if cyc := findCycle(ranks, next); len(cyc) > 0 {
		b.WriteString("  wait-for cycle: ")
		for _, r := range cyc {
			fmt.Fprintf(&b, "rank %d (%s) → ", r, edge[r])
		}
		fmt.Fprintf(&b, "rank %d\n", cyc[0])
	} else {
		// Ranks that wait for a rank outside any call (computing, or
		// gone): the likely reason for the others' wait.
		waited := map[int][]int{}
		for _, r := range ranks {
			p, ok := next[r]
			if !ok {
				continue
			}
			pa, alive := as[p]
			if !alive || !pa.Answered || len(pa.State.Calls) == 0 {
				waited[p] = append(waited[p], r)
			}
		}
		var ps []int
		for p := range waited {
			ps = append(ps, p)
		}
		sort.Ints(ps)
		for _, p := range ps {
			state := "which has exited"
			if pa, ok := as[p]; ok {
				k, _ := headline(pa)
				state = "which is " + k
			}
			verb := "wait"
			if len(waited[p]) == 1 {
				verb = "waits"
			}
			fmt.Fprintf(&b, "  %s %s for rank %d, %s\n", rankSet(waited[p]), verb, p, state)
		}
	}
	for _, m := range mismatches(ranks, as) {
		b.WriteString("  mismatch: " + m + "\n")
	}
	for _, r := range ranks {
		if st := as[r].Stacks; len(st) > 0 {
			fmt.Fprintf(&b, "  rank %d stacks:\n", r)
			for _, l := range st {
				b.WriteString("    " + l + "\n")
			}
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// findCycle returns a cycle of the functional graph next, in order from
// its smallest rank, or nil.
func findCycle(ranks []int, next map[int]int) []int {
	for _, start := range ranks {
		seen := map[int]int{}
		var path []int
		for r := start; ; {
			if i, ok := seen[r]; ok {
				cyc := path[i:]
				if len(cyc) < 2 {
					break // a rank waiting for itself is not a cycle of ranks
				}
				lo := 0
				for j := range cyc {
					if cyc[j] < cyc[lo] {
						lo = j
					}
				}
				return append(append([]int{}, cyc[lo:]...), cyc[:lo]...)
			}
			seen[r] = len(path)
			path = append(path, r)
			n, ok := next[r]
			if !ok {
				break
			}
			r = n
		}
	}
	return nil
}

// mismatches names collectives that ranks of one communicator entered
// with the same sequence number but a different call or root.
func mismatches(ranks []int, as map[int]rankAnswer) []string {
	type at struct {
		comm string
		seq  int
	}
	calls := map[at]map[string][]int{}
	var keys []at
	for _, r := range ranks {
		for _, c := range as[r].State.Calls {
			if !c.Coll {
				continue
			}
			k := at{c.Comm, c.Seq}
			if calls[k] == nil {
				calls[k] = map[string][]int{}
				keys = append(keys, k)
			}
			what := c.Call
			if c.Peer >= 0 {
				what += fmt.Sprintf(" root %d", c.Peer)
			}
			calls[k][what] = append(calls[k][what], r)
		}
	}
	var out []string
	for _, k := range keys {
		m := calls[k]
		if len(m) < 2 {
			continue
		}
		var parts []string
		for what, rs := range m {
			parts = append(parts, fmt.Sprintf("%s on %s", what, rankSet(rs)))
		}
		sort.Strings(parts)
		out = append(out, fmt.Sprintf("collective #%d on %s: %s", k.seq, k.comm, strings.Join(parts, "; ")))
	}
	return out
}

// rankList writes sorted ranks as "rank 3" or "ranks 0–6, 9".
func rankSet(rs []int) string {
	rs = append([]int(nil), rs...)
	sort.Ints(rs)
	var parts []string
	for i := 0; i < len(rs); {
		j := i
		for j+1 < len(rs) && rs[j+1] == rs[j]+1 {
			j++
		}
		switch {
		case j == i:
			parts = append(parts, strconv.Itoa(rs[i]))
		case j == i+1:
			parts = append(parts, strconv.Itoa(rs[i]), strconv.Itoa(rs[j]))
		default:
			parts = append(parts, fmt.Sprintf("%d–%d", rs[i], rs[j]))
		}
		i = j + 1
	}
	if len(rs) == 1 {
		return "rank " + parts[0]
	}
	return "ranks " + strings.Join(parts, ", ")
}

func secs(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }
