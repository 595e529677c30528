package rendezvous

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// The agent link is a stream socket between a rank and the gorun agent
// that started it (the agent passes its end's number in AgentFDEnv). Each
// message is one line of text, "KIND" or "KIND ARG", at most MaxLinkLine
// bytes with the newline. A rank that uses comm says LinkInit when Init
// starts, LinkReady when it returns a communicator, LinkBeat every
// interval of HeartbeatEnv while it runs, and LinkClosed when Close has
// finished; the agent may say LinkAbort (ARG: the reason) while the rank
// is in Init. Programs that never use comm say nothing.
//
// Queries (gorun's stall and deadlock reports): the agent may say
// "query ID", "query ID stacks", "query ID check" or "query ID stats" at
// any time (ID: decimal digits; check asks for RankState.Checked and
// Busy, stats for the rank's statistics first); a rank
// that understands it answers, from a goroutine of its own whatever the
// program does, with "stack ID LINE" for each line of its goroutines'
// stacks when asked for them, then "state ID JSON", a RankState on one
// line. A rank never says stack or state unasked, so an older agent never
// sees them; an older rank ignores the query, and gorun treats the silence
// as "no answer".
const (
	// AgentFDEnv names the environment variable that holds the file
	// descriptor of a rank's end of its agent link.
	AgentFDEnv = "GORUN_AGENT_FD"
	// HeartbeatEnv names the environment variable that holds the
	// heartbeat interval (a Go duration); unset or "0": no heartbeats.
	HeartbeatEnv = "GORUN_HEARTBEAT"
	// MaxLinkLine bounds one message of the agent link, newline included.
	MaxLinkLine = 1024
)

// LinkKind is the kind of an agent link message.
type LinkKind string

// The kinds of agent link messages.
const (
	LinkInit   LinkKind = "init"   // rank → agent: Init started; ARG is the process id
	LinkReady  LinkKind = "ready"  // rank → agent: Init returned a communicator
	LinkBeat   LinkKind = "beat"   // rank → agent: still alive
	LinkClosed LinkKind = "closed" // rank → agent: Close finished
	LinkAbort  LinkKind = "abort"  // agent → rank: the job is aborted; ARG is why
	LinkQuery  LinkKind = "query"  // agent → rank: what are you blocked in? ARG: "ID", "ID stacks" or "ID check"
	LinkState  LinkKind = "state"  // rank → agent: the answer to query ID; ARG: "ID JSON" (RankState)
	LinkStack  LinkKind = "stack"  // rank → agent: one line of its stacks for query ID; ARG: "ID" or "ID LINE"
	LinkStats  LinkKind = "stats"  // rank → agent: one row of its call statistics; ARG: JSON (CallStats)
	LinkTrace  LinkKind = "trace"  // rank → agent: events of its trace; ARG: JSON (TraceChunk)
)

// TraceEnv names the environment variable that turns a rank's trace on
// ("1"): the rank then says LinkTrace, its recorded events in chunks and a
// last chunk with End set, when it would send its statistics (StatsEnv).
const TraceEnv = "GORUN_TRACE"

// TraceEvent is one call in a rank's trace: Call (with Alg, for a
// collective) started at Start (Unix ns, the rank's clock) and took Dur
// ns, with Peer (a world rank, or a collective's root; -2 none), Tag, its
// payload Bytes, its communicator and, for a collective, its sequence
// number. FlowOut names the message a send started, FlowIn the one a
// receive got: the same id on both ranks.
type TraceEvent struct {
	Call    string `json:"k"`
	Alg     string `json:"a,omitempty"`
	Start   int64  `json:"t"`
	Dur     int64  `json:"d"`
	Peer    int    `json:"p"`
	Tag     int    `json:"g"`
	Bytes   int64  `json:"b,omitempty"`
	Comm    string `json:"cm,omitempty"`
	Coll    bool   `json:"co,omitempty"`
	Seq     int    `json:"s,omitempty"`
	FlowOut string `json:"fo,omitempty"`
	FlowIn  string `json:"fi,omitempty"`
}

// TraceChunk is the argument of a trace message: Events, or (End) the
// last chunk: Recorded events in all, the oldest Dropped of them not sent
// (the ring holds Ring), and the rank's clock Now (Unix ns).
type TraceChunk struct {
	Events   []TraceEvent `json:"e,omitempty"`
	End      bool         `json:"end,omitempty"`
	Recorded int64        `json:"n,omitempty"`
	Dropped  int64        `json:"dropped,omitempty"`
	Ring     int          `json:"ring,omitempty"`
	Now      int64        `json:"now,omitempty"`
}

// ParseTrace decodes the argument of a trace message. A malformed one is
// an error wrapping ErrBadLink.
func ParseTrace(arg string) (TraceChunk, error) {
	var c TraceChunk
	if err := json.Unmarshal([]byte(arg), &c); err != nil {
		return TraceChunk{}, fmt.Errorf("%w: trace: %v", ErrBadLink, err)
	}
	if c.Recorded < 0 || c.Dropped < 0 || c.Dropped > c.Recorded {
		return TraceChunk{}, fmt.Errorf("%w: trace: bad counts", ErrBadLink)
	}
	for _, e := range c.Events {
		if e.Dur < 0 {
			return TraceChunk{}, fmt.Errorf("%w: trace: a negative duration", ErrBadLink)
		}
	}
	return c, nil
}

// StatsEnv names the environment variable that turns a rank's call
// statistics on ("1"): the rank then says LinkStats, one line per call
// and algorithm and a last line of totals (Call ""), before LinkClosed,
// or before its answer to a "query ID stats" (a job that fails). Only an
// agent that sets it hears stats lines.
const StatsEnv = "GORUN_STATS"

// CallStats is one row of a rank's call statistics: Count calls of Call
// (with algorithm Alg, for a collective) moved Bytes and took Total
// nanoseconds, the longest Max. The totals row has Call "": Total is the
// time inside every counted call, Wall the time since Init returned.
type CallStats struct {
	Call  string `json:"k"`
	Alg   string `json:"a,omitempty"`
	Count int64  `json:"n"`
	Bytes int64  `json:"b"`
	Total int64  `json:"t"`
	Max   int64  `json:"x"`
	Wall  int64  `json:"w,omitempty"`
}

// RankState is a rank's answer to a query: what its goroutines are
// blocked in. A goroutine outside every call (computing, or waiting for
// something that is not a message) is not listed.
type RankState struct {
	// Progress counts the requests the rank has completed; it changes
	// whenever a message is matched or delivered.
	Progress uint64 `json:"p"`
	// CPU is the process's CPU time (user and system), in nanoseconds.
	CPU int64 `json:"cpu"`
	// Calls are the calls in progress, in no order.
	Calls []CallState `json:"c,omitempty"`
	// More counts calls in progress that are not listed (the line's
	// length, or more at once than the rank records).
	More int `json:"m,omitempty"`
	// Checked says that the rank looked at every goroutine of the
	// program (a query with check); Busy then counts those that are
	// neither in a gorun call nor waiting for another goroutine (a
	// channel, a lock): running, runnable, asleep, in a system call or
	// waiting for I/O. A rank with Busy > 0 may still make progress on
	// its own.
	Checked bool `json:"ck,omitempty"`
	Busy    int  `json:"busy,omitempty"`
}

// CallState is one call in progress on a rank.
type CallState struct {
	// Call is the call's name: "Recv", "Send", "Irecv" (for a Wait on
	// its request), "Probe", "Allreduce", ...
	Call string `json:"k"`
	// Coll marks a collective (Seq and Root mean something); Inner marks a
	// point-to-point wait inside a collective (on its communicator's
	// collective context); Wait a Wait on the request of a non-blocking
	// call; Probe a probe.
	Coll  bool `json:"co,omitempty"`
	Inner bool `json:"in,omitempty"`
	Wait  bool `json:"w,omitempty"`
	Probe bool `json:"pr,omitempty"`
	// Peer is the world rank waited for (-1: any source), or a
	// collective's root (-1: none); CommPeer is the same rank in Comm.
	Peer     int `json:"pe"`
	CommPeer int `json:"cp"`
	// Tag is the message tag (-1: any, or none for a collective).
	Tag int `json:"t"`
	// Comm names the communicator: "world", or "comm 0x…".
	Comm string `json:"cm"`
	// Seq is a collective's sequence number on its communicator.
	Seq int `json:"s,omitempty"`
	// Alg is a collective's algorithm, once chosen.
	Alg string `json:"a,omitempty"`
	// Bytes is the call's payload on this rank.
	Bytes int `json:"b,omitempty"`
	// For is how long the call has been waiting, in nanoseconds.
	For int64 `json:"d"`
}

// ParseAnswer splits the argument of a state or stack message into its
// query ID and the rest. For a state message, it decodes the RankState
// into st (when st is not nil). A malformed argument is an error wrapping
// ErrBadLink.
func ParseAnswer(kind LinkKind, arg string, st *RankState) (uint64, string, error) {
	id, rest, _ := strings.Cut(arg, " ")
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil || id == "" || id[0] == '+' {
		return 0, "", fmt.Errorf("%w: %s wants a query id, got %.32q", ErrBadLink, kind, id)
	}
	if kind == LinkState && st != nil {
		*st = RankState{}
		if err := json.Unmarshal([]byte(rest), st); err != nil {
			return 0, "", fmt.Errorf("%w: state: %v", ErrBadLink, err)
		}
	}
	return n, rest, nil
}

// ParseStats decodes the argument of a stats message. A malformed one is
// an error wrapping ErrBadLink.
func ParseStats(arg string) (CallStats, error) {
	var s CallStats
	if err := json.Unmarshal([]byte(arg), &s); err != nil {
		return CallStats{}, fmt.Errorf("%w: stats: %v", ErrBadLink, err)
	}
	if s.Count < 0 || s.Bytes < 0 || s.Total < 0 || s.Max < 0 || s.Wall < 0 {
		return CallStats{}, fmt.Errorf("%w: stats: a negative count, size or time", ErrBadLink)
	}
	return s, nil
}

// ErrBadLink is wrapped by ParseLink for a malformed message.
var ErrBadLink = errors.New("rendezvous: malformed agent link message")

// FormatLink encodes one agent link message. Newlines and other control
// characters in arg become spaces, and arg is cut so that the line fits in
// MaxLinkLine.
func FormatLink(kind LinkKind, arg string) []byte {
	b := make([]byte, 0, len(kind)+len(arg)+2)
	b = append(b, kind...)
	if arg != "" {
		b = append(b, ' ')
		room := MaxLinkLine - 1 - len(b)
		for _, c := range []byte(arg) {
			if room == 0 {
				break
			}
			if c < ' ' || c == 0x7f {
				c = ' '
			}
			b = append(b, c)
			room--
		}
	}
	return append(b, '\n')
}

// ParseLink decodes one agent link message (with or without its newline).
// An unknown kind, a missing or unexpected argument, a control character
// or a line longer than MaxLinkLine is an error wrapping ErrBadLink.
func ParseLink(line []byte) (LinkKind, string, error) {
	if len(line) > MaxLinkLine {
		return "", "", fmt.Errorf("%w: %d bytes (at most %d)", ErrBadLink, len(line), MaxLinkLine)
	}
	line = bytes.TrimSuffix(line, []byte{'\n'})
	for _, c := range line {
		if c < ' ' || c == 0x7f {
			return "", "", fmt.Errorf("%w: control character %q", ErrBadLink, c)
		}
	}
	k, arg, hasArg := strings.Cut(string(line), " ")
	kind := LinkKind(k)
	switch kind {
	case LinkInit:
		if !hasArg || arg == "" || strings.Trim(arg, "0123456789") != "" || len(arg) > 10 {
			return "", "", fmt.Errorf("%w: init wants a process id, got %q", ErrBadLink, arg)
		}
	case LinkAbort:
	case LinkQuery:
		id, flag, _ := strings.Cut(arg, " ")
		if id == "" || strings.Trim(id, "0123456789") != "" || len(id) > 19 || (flag != "" && flag != "stacks" && flag != "check" && flag != "stats") {
			return "", "", fmt.Errorf("%w: query wants an id and optionally stacks, got %.32q", ErrBadLink, arg)
		}
	case LinkState, LinkStack:
		id, rest, _ := strings.Cut(arg, " ")
		if id == "" || strings.Trim(id, "0123456789") != "" || len(id) > 19 || (kind == LinkState && rest == "") {
			return "", "", fmt.Errorf("%w: %s wants an id and its text, got %.32q", ErrBadLink, kind, arg)
		}
	case LinkStats, LinkTrace:
		if !strings.HasPrefix(arg, "{") {
			return "", "", fmt.Errorf("%w: %s wants a JSON object, got %.32q", ErrBadLink, kind, arg)
		}
	case LinkReady, LinkBeat, LinkClosed:
		if hasArg {
			return "", "", fmt.Errorf("%w: %s takes no argument", ErrBadLink, kind)
		}
	default:
		return "", "", fmt.Errorf("%w: unknown kind %.32q", ErrBadLink, k)
	}
	return kind, arg, nil
}
