package main_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

type traceFile struct {
	TraceEvents []struct {
		Name string         `json:"name"`
		Ph   string         `json:"ph"`
		Ts   float64        `json:"ts"`
		Dur  float64        `json:"dur"`
		Pid  int            `json:"pid"`
		Tid  int            `json:"tid"`
		ID   string         `json:"id"`
		Args map[string]any `json:"args"`
	} `json:"traceEvents"`
	OtherData struct {
		Ring    int              `json:"ring_events_per_rank"`
		Dropped map[string]int64 `json:"dropped_events"`
		Flows   int              `json:"flows"`
	} `json:"otherData"`
}

// readTrace parses a --trace file and checks its shape: each track's
// slices nest (none overlaps another partly), and every flow has one
// start and one end, each inside a slice of its track.
func readTrace(t *testing.T, file string) traceFile {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var tf traceFile
	if err := json.Unmarshal(b, &tf); err != nil {
		t.Fatalf("the trace does not parse: %v", err)
	}
	type track struct{ pid, tid int }
	type span struct{ a, b float64 }
	slices := map[track][]span{}
	for _, e := range tf.TraceEvents {
		if e.Ph == "X" {
			if e.Dur < 0 {
				t.Errorf("slice %s of rank %d has a negative duration", e.Name, e.Pid)
			}
			tr := track{e.Pid, e.Tid}
			slices[tr] = append(slices[tr], span{e.Ts, e.Ts + e.Dur})
		}
	}
	const eps = 1e-3 // µs: the file's times are rounded
	for tr, ss := range slices {
		sort.Slice(ss, func(i, j int) bool {
			if ss[i].a != ss[j].a {
				return ss[i].a < ss[j].a
			}
			return ss[i].b > ss[j].b
		})
		var open []span
		for _, s := range ss {
			for len(open) > 0 && open[len(open)-1].b <= s.a+eps {
				open = open[:len(open)-1]
			}
			if len(open) > 0 && s.b > open[len(open)-1].b+eps {
				t.Fatalf("rank %d track %d: slice [%v,%v] overlaps [%v,%v] without nesting", tr.pid, tr.tid, s.a, s.b, open[len(open)-1].a, open[len(open)-1].b)
			}
			open = append(open, s)
		}
	}
	inside := func(pid, tid int, ts float64) bool {
		for _, s := range slices[track{pid, tid}] {
			if s.a-eps <= ts && ts <= s.b+eps {
				return true
			}
		}
		return false
	}
	starts, ends := map[string]int{}, map[string]int{}
	for _, e := range tf.TraceEvents {
		switch e.Ph {
		case "s", "f":
			if !inside(e.Pid, e.Tid, e.Ts) {
				t.Errorf("flow %s %s of rank %d at %v is outside every slice of its track", e.Ph, e.ID, e.Pid, e.Ts)
			}
			if e.Ph == "s" {
				starts[e.ID]++
			} else {
				ends[e.ID]++
			}
		}
	}
	for id, n := range starts {
		if n != 1 || ends[id] != 1 {
			t.Errorf("flow %s: %d starts, %d ends", id, n, ends[id])
		}
	}
	for id := range ends {
		if starts[id] == 0 {
			t.Errorf("flow %s ends without a start", id)
		}
	}
	if len(starts) != tf.OtherData.Flows {
		t.Errorf("%d flows in the file, otherData says %d", len(starts), tf.OtherData.Flows)
	}
	return tf
}

// TestTrace runs a program of known calls under --trace and checks the
// file: its shape (readTrace), one slice per call, one flow per message.
func TestTrace(t *testing.T) {
	prog := stallProg(t)
	for _, np := range []int{1, 2, 3, 5, 8} {
		t.Run(fmt.Sprintf("np=%d", np), func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "trace.json")
			res := gorun(t, 2*time.Minute, "", "-np", fmt.Sprint(np), "--trace", file, prog, "-mode", "counts")
			if res.code != 0 || !strings.Contains(res.out, fmt.Sprintf("gorun: trace of %d calls written to %s; 0 dropped", 31*np, file)) {
				t.Fatalf("exit code %d; output:\n%s", res.code, res.out)
			}
			tf := readTrace(t, file)
			perRank := map[int]map[string]int{}
			for _, e := range tf.TraceEvents {
				if e.Ph == "X" {
					if perRank[e.Pid] == nil {
						perRank[e.Pid] = map[string]int{}
					}
					perRank[e.Pid][e.Name]++
				}
			}
			want := map[string]int{"Send": 5, "Recv": 5, "Allreduce": 3, "Barrier": 2, "Isend": 4, "Irecv": 4, "Wait": 8}
			for r := range np {
				if fmt.Sprint(perRank[r]) != fmt.Sprint(want) {
					t.Errorf("rank %d: slices %v, want %v", r, perRank[r], want)
				}
			}
			if tf.OtherData.Flows != 9*np {
				t.Errorf("%d flows, want %d (5 Sends and 4 Isends per rank)", tf.OtherData.Flows, 9*np)
			}
		})
	}
}

// TestTraceRing checks the ring's bound: with room for 10 events per rank
// (GORUN_TRACE_RING), each rank keeps its last 10 calls and the file says
// how many were dropped; flows whose other end was dropped are left out.
func TestTraceRing(t *testing.T) {
	prog := stallProg(t)
	file := filepath.Join(t.TempDir(), "trace.json")
	res := gorun(t, 2*time.Minute, "", "-np", "3", "-x", "GORUN_TRACE_RING=10", "--trace", file, prog, "-mode", "counts")
	if res.code != 0 || !strings.Contains(res.out, "gorun: trace of 30 calls written to "+file+"; 63 dropped (each rank keeps its last 10)") {
		t.Fatalf("exit code %d; output:\n%s", res.code, res.out)
	}
	tf := readTrace(t, file)
	if tf.OtherData.Ring != 10 || len(tf.OtherData.Dropped) != 3 || tf.OtherData.Dropped["1"] != 21 {
		t.Errorf("otherData %+v, want a ring of 10 and 21 dropped on each rank", tf.OtherData)
	}
}
