package launcher

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/gorun-hpc/gorun/comm/rendezvous"
)

// Call statistics (gorun --stats): ranks that use comm count their calls
// when the agent sets rendezvous.StatsEnv, and send the table over their
// agent links when Close finishes, when one of their calls fails because
// the job is aborted or a peer is lost, or when the head asks (a "stats"
// query, at the time limit); the agent forwards each row (msgStats: Rank, Data the
// row's JSON), and the head prints one table at the end of the job.

// msgStats is an agent's message carrying one row of a rank's statistics.
const msgStats = "stats"

// statsRank is what the head holds of one rank's statistics.
type statsRank struct {
	rows  []rendezvous.CallStats
	total rendezvous.CallStats // the totals row (Call "")
	done  bool                 // the totals row came
}

// statsEnv is what Observe adds to each rank's environment.
func (o Observe) env() []string {
	var env []string
	if o.Stats != "" {
		env = append(env, rendezvous.StatsEnv+"=1")
	}
	if o.Trace != "" {
		env = append(env, rendezvous.TraceEnv+"=1")
	}
	return env
}

// statsRow takes one row of a rank's statistics from its agent.
func (o *observer) statsRow(m *message) {
	row, err := rendezvous.ParseStats(string(m.Data))
	if err != nil {
		o.h.logf("gorun: rank %d: ignoring a statistics row: %v", m.Rank, err)
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.stats == nil {
		o.stats = map[int]*statsRank{}
	}
	sr := o.stats[m.Rank]
	if sr == nil {
		sr = &statsRank{}
		o.stats[m.Rank] = sr
	}
	if sr.done {
		return // a rank sends its table once; ignore anything after
	}
	if row.Call == "" {
		sr.total, sr.done = row, true
		return
	}
	sr.rows = append(sr.rows, row)
}

// askStats asks the ranks still running for their statistics (the job is
// ending) and waits for their answers. It must not be called from a
// goroutine that reads an agent's messages.
func (o *observer) askStats() {
	if o.h.job.Observe.Stats != "" || o.h.job.Observe.Trace != "" {
		o.query("stats", nil)
	}
}

// timedOut prints the report of a job at its time limit and collects the
// statistics of its ranks.
func (o *observer) timedOut() {
	o.report("gorun: what the ranks were doing at the time limit:", o.h.job.Observe.Stacks)
	o.askStats()
}

// StatsRow is one row of gorun's statistics: one call (and algorithm),
// summed over ranks.
type StatsRow struct {
	Call  string  `json:"call"`
	Alg   string  `json:"alg,omitempty"`
	Count int64   `json:"count"`
	Bytes int64   `json:"bytes"`
	Total float64 `json:"total_s"` // seconds, summed over ranks
	Max   float64 `json:"max_s"`   // the longest call, seconds
	Share float64 `json:"share"`   // Total / (Wall × ranks)
}

// StatsRank is one rank's line: time inside calls and outside.
type StatsRank struct {
	Rank    int     `json:"rank"`
	Wall    float64 `json:"wall_s"` // from the rank's Init to its Close
	Comm    float64 `json:"comm_s"`
	Outside float64 `json:"outside_s"`
}

// Stats is what --stats prints, and --stats=json:FILE writes.
type Stats struct {
	NP      int         `json:"np"`
	Wall    float64     `json:"wall_s"` // the job's wall time, seconds
	Calls   []StatsRow  `json:"calls"`
	Ranks   []StatsRank `json:"ranks"`
	Missing []int       `json:"missing,omitempty"` // ranks that sent nothing
}

// summary sums the ranks' tables.
func (o *observer) summary(wall time.Duration, np int) Stats {
	o.mu.Lock()
	defer o.mu.Unlock()
	st := Stats{NP: np, Wall: wall.Seconds(), Calls: []StatsRow{}, Ranks: []StatsRank{}}
	type key struct{ call, alg string }
	rows := map[key]*StatsRow{}
	for r := range np {
		sr := o.stats[r]
		if sr == nil || !sr.done {
			st.Missing = append(st.Missing, r)
			if sr == nil {
				continue
			}
		}
		for _, c := range sr.rows {
			k := key{c.Call, c.Alg}
			row := rows[k]
			if row == nil {
				row = &StatsRow{Call: c.Call, Alg: c.Alg}
				rows[k] = row
			}
			row.Count += c.Count
			row.Bytes += c.Bytes
			row.Total += time.Duration(c.Total).Seconds()
			row.Max = max(row.Max, time.Duration(c.Max).Seconds())
		}
		if sr.done {
			w, c := time.Duration(sr.total.Wall).Seconds(), time.Duration(sr.total.Total).Seconds()
			st.Ranks = append(st.Ranks, StatsRank{Rank: r, Wall: w, Comm: c, Outside: max(0, w-c)})
		}
	}
	for _, row := range rows {
		if st.Wall > 0 {
			row.Share = row.Total / (st.Wall * float64(np))
		}
		st.Calls = append(st.Calls, *row)
	}
	sort.Slice(st.Calls, func(i, j int) bool {
		a, b := st.Calls[i], st.Calls[j]
		if a.Total != b.Total {
			return a.Total > b.Total
		}
		return a.Call+a.Alg < b.Call+b.Alg
	})
	return st
}

// formatStats is the table --stats prints.
func formatStats(st Stats) string {
	var b strings.Builder
	fmt.Fprintf(&b, "gorun: statistics: %d ranks, wall %.3f s; time summed over ranks, share of wall × ranks\n", st.NP, st.Wall)
	fmt.Fprintf(&b, "  %-22s %-16s %10s %12s %10s %10s %7s\n", "call", "algorithm", "count", "bytes", "total s", "max ms", "share")
	for _, c := range st.Calls {
		fmt.Fprintf(&b, "  %-22s %-16s %10d %12d %10.4f %10.3f %6.2f%%\n", c.Call, c.Alg, c.Count, c.Bytes, c.Total, c.Max*1e3, 100*c.Share)
	}
	fmt.Fprintf(&b, "  %-6s %10s %10s %10s %7s\n", "rank", "wall s", "comm s", "outside s", "comm")
	for _, r := range st.Ranks {
		share := 0.0
		if r.Wall > 0 {
			share = r.Comm / r.Wall
		}
		fmt.Fprintf(&b, "  %-6d %10.4f %10.4f %10.4f %6.2f%%\n", r.Rank, r.Wall, r.Comm, r.Outside, 100*share)
	}
	if len(st.Missing) > 0 {
		fmt.Fprintf(&b, "  no statistics from %s (exited without Close, or not using comm)\n", rankSet(st.Missing))
	}
	return strings.TrimRight(b.String(), "\n")
}

// printStats prints (or writes) the job's statistics at its end.
func (o *observer) printStats(wall time.Duration) {
	spec := o.h.job.Observe.Stats
	if spec == "" {
		return
	}
	st := o.summary(wall, o.h.job.NP)
	if file, ok := strings.CutPrefix(spec, "json:"); ok {
		b, _ := json.MarshalIndent(st, "", "  ")
		if err := os.WriteFile(file, append(b, '\n'), 0o644); err != nil {
			o.h.logf("gorun: writing the statistics: %v", err)
		}
		return
	}
	o.h.logf("%s", formatStats(st))
}
