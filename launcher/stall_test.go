package launcher

import (
	"strings"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/comm/rendezvous"
)

func recvFrom(peer, tag int, d time.Duration) rendezvous.CallState {
	return rendezvous.CallState{Call: "Recv", Peer: peer, CommPeer: peer, Tag: tag, Comm: "world", For: int64(d)}
}

func coll(name string, seq, root int, d time.Duration) rendezvous.CallState {
	return rendezvous.CallState{Call: name, Coll: true, Seq: seq, Peer: root, CommPeer: root, Tag: -1, Comm: "world", For: int64(d)}
}

func answer(rank int, calls ...rendezvous.CallState) rankAnswer {
	return rankAnswer{Rank: rank, Phase: phaseReady, Answered: true, State: rendezvous.RankState{Calls: calls}}
}

func TestFormatReport(t *testing.T) {
	s := 12 * time.Second
	cases := []struct {
		name string
		as   []rankAnswer
		np   int
		want []string
		not  []string
	}{
		{"groups and a computing rank", []rankAnswer{
			answer(0, coll("Allreduce", 41, -1, s)), answer(1, coll("Allreduce", 41, -1, s)), answer(2, coll("Allreduce", 41, -1, s)),
			answer(3, recvFrom(2, 9, s)), answer(4),
		}, 5, []string{"  ranks 0–2: Allreduce #41 on world, 12.0 s\n", "  rank 3: Recv from rank 2 tag 9, 12.0 s\n",
			"  rank 4: computing (outside any gorun call)"}, []string{"cycle"}},
		{"a cycle through a collective's inner wait", []rankAnswer{
			answer(0, coll("Barrier", 1, -1, s), rendezvous.CallState{Call: "Irecv", Wait: true, Inner: true, Peer: 2, Tag: 1024, Comm: "world", For: int64(s)}),
			answer(1, coll("Barrier", 1, -1, s)),
			answer(2, recvFrom(0, 5, s)),
		}, 3, []string{"wait-for cycle: rank 0 (Wait on Irecv from rank 2) → rank 2 (Recv from rank 0 tag 5) → rank 0"}, nil},
		{"mismatched roots", []rankAnswer{
			answer(0, coll("Bcast", 3, 0, s)), answer(1, coll("Bcast", 3, 0, s)), answer(2, coll("Bcast", 3, 1, s)),
		}, 3, []string{"ranks 0, 1: Bcast #3 on world, root 0", "mismatch: collective #3 on world: Bcast root 0 on ranks 0, 1; Bcast root 1 on rank 2"}, nil},
		{"waiting for a computing rank, one rank gone", []rankAnswer{
			answer(0), answer(1, recvFrom(0, 1, s)), answer(2, recvFrom(0, 1, s)),
		}, 4, []string{"ranks 1, 2 wait for rank 0, which is computing", "1 rank(s) have exited"}, []string{"cycle"}},
		{"no answers", []rankAnswer{{Rank: 0}, {Rank: 1, Phase: phaseReady}}, 2,
			[]string{"rank 0: not using comm", "rank 1: no answer"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			as := map[int]rankAnswer{}
			for _, a := range tc.as {
				as[a.Rank] = a
			}
			got := formatReport("title", as, tc.np) + "\n"
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("lacks %q:\n%s", w, got)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(got, w) {
					t.Errorf("has %q:\n%s", w, got)
				}
			}
		})
	}
}

func TestRankSet(t *testing.T) {
	for _, tc := range []struct {
		in   []int
		want string
	}{{[]int{3}, "rank 3"}, {[]int{1, 0}, "ranks 0, 1"}, {[]int{0, 1, 2, 3, 7, 9, 10, 11}, "ranks 0–3, 7, 9–11"}} {
		if got := rankSet(tc.in); got != tc.want {
			t.Errorf("rankSet(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestStallWatch drives the deadlock and stall checks with answers over
// time: progress, a busy CPU or a rank outside a call start the window
// over.
func TestStallWatch(t *testing.T) {
	t0 := time.Unix(1000, 0)
	blocked := func(prog uint64, cpu int64) map[int]rankAnswer {
		a0, a1 := answer(0, recvFrom(1, 0, time.Second)), answer(1, recvFrom(0, 0, time.Second))
		a0.State.Progress, a1.State.Progress = prog, prog
		a0.State.CPU, a1.State.CPU = cpu, cpu
		return map[int]rankAnswer{0: a0, 1: a1}
	}
	var w stallWatch
	step := func(at time.Duration, as map[int]rankAnswer) (bool, bool) {
		return w.update(t0.Add(at), as, 300*time.Millisecond, time.Second)
	}
	if s, d := step(0, blocked(5, 0)); s || d {
		t.Fatal("reported at once")
	}
	if s, d := step(400*time.Millisecond, blocked(5, 0)); !s || d {
		t.Fatalf("stall %v deadlock %v at 400ms, want a stall only", s, d)
	}
	if s, _ := step(500*time.Millisecond, blocked(5, 0)); s {
		t.Fatal("the same stall reported twice")
	}
	if _, d := step(1100*time.Millisecond, blocked(5, 0)); !d {
		t.Fatal("no deadlock after 1.1s blocked")
	}
	// Progress starts it over.
	w = stallWatch{}
	step(0, blocked(5, 0))
	step(900*time.Millisecond, blocked(6, 0))
	if _, d := step(1500*time.Millisecond, blocked(6, 0)); d {
		t.Fatal("deadlock 0.6s after progress")
	}
	// A rank that burns CPU is not deadlocked.
	w = stallWatch{}
	step(0, blocked(5, 0))
	if _, d := step(1100*time.Millisecond, blocked(5, int64(time.Second))); d {
		t.Fatal("deadlock while a process used a second of CPU")
	}
	// A rank outside any call: a stall, never a deadlock.
	w = stallWatch{}
	as := blocked(5, 0)
	as[1] = answer(1)
	step(0, as)
	if s, d := step(2*time.Second, as); !s || d {
		t.Fatalf("stall %v deadlock %v with a computing rank, want a stall only", s, d)
	}
}
