package hosts

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
)

// names returns the host of each rank.
func names(p []Placement) string {
	s := make([]string, len(p))
	for i, x := range p {
		s[i] = x.Host
	}
	return strings.Join(s, " ")
}

// checkInvariants verifies what every Map result must satisfy.
func checkInvariants(t *testing.T, hosts []Host, np int, opts MapOptions, p []Placement) {
	t.Helper()
	if len(p) != np {
		t.Fatalf("got %d placements, want %d", len(p), np)
	}
	next := make([]int, len(hosts))
	count := make([]int, len(hosts))
	for _, x := range p {
		count[x.HostIndex]++
	}
	for r, x := range p {
		if x.Rank != r {
			t.Fatalf("placement %d has rank %d", r, x.Rank)
		}
		if x.HostIndex < 0 || x.HostIndex >= len(hosts) || hosts[x.HostIndex].Name != x.Host {
			t.Fatalf("rank %d: host %q index %d does not match", r, x.Host, x.HostIndex)
		}
		if x.LocalRank != next[x.HostIndex] {
			t.Fatalf("rank %d on %s: local rank %d, want %d", r, x.Host, x.LocalRank, next[x.HostIndex])
		}
		next[x.HostIndex]++
		if x.LocalSize != count[x.HostIndex] {
			t.Fatalf("rank %d on %s: local size %d, want %d", r, x.Host, x.LocalSize, count[x.HostIndex])
		}
	}
	total := TotalSlots(hosts)
	for i, h := range hosts {
		if h.Slots == 0 && count[i] > 0 {
			t.Errorf("host %s has no slots but got %d ranks", h.Name, count[i])
		}
		if h.MaxSlots > 0 && count[i] > h.MaxSlots {
			t.Errorf("host %s got %d ranks beyond max_slots %d", h.Name, count[i], h.MaxSlots)
		}
		if np <= total && count[i] > h.Slots {
			t.Errorf("host %s oversubscribed (%d > %d) though slots suffice", h.Name, count[i], h.Slots)
		}
		if np > total && count[i] < h.Slots {
			t.Errorf("host %s has free slots (%d < %d) while oversubscribing", h.Name, count[i], h.Slots)
		}
	}
	if np > total && !opts.Oversubscribe {
		t.Errorf("oversubscribed without permission")
	}
	by := strings.ToLower(opts.By)
	if by == "" || by == "slot" || by == "byslot" {
		// By slot: each host's ranks form one consecutive block, in host order.
		for r := 1; r < np; r++ {
			if p[r].HostIndex < p[r-1].HostIndex {
				t.Fatalf("by slot: rank %d on host %d after host %d", r, p[r].HostIndex, p[r-1].HostIndex)
			}
		}
	}
}

func TestMapUneven(t *testing.T) {
	hosts := []Host{{"a", 3, 0}, {"b", 1, 0}, {"c", 2, 0}}
	tests := []struct {
		by   string
		np   int
		want string
	}{
		{"slot", 1, "a"},
		{"slot", 2, "a a"},
		{"slot", 3, "a a a"},
		{"slot", 5, "a a a b c"},
		{"slot", 6, "a a a b c c"},
		{"slot", 8, "a a a a b b c c"},
		{"", 5, "a a a b c"},
		{"node", 1, "a"},
		{"node", 2, "a b"},
		{"node", 3, "a b c"},
		{"node", 5, "a b c a c"},
		{"node", 6, "a b c a c a"},
		{"node", 8, "a b c a c a a b"},
		{"NODE", 3, "a b c"},
		{"bynode", 3, "a b c"},
		{"byslot", 3, "a a a"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/np%d", tt.by, tt.np), func(t *testing.T) {
			opts := MapOptions{By: tt.by, Oversubscribe: tt.np > TotalSlots(hosts)}
			p, err := Map(hosts, tt.np, opts)
			if err != nil {
				t.Fatal(err)
			}
			checkInvariants(t, hosts, tt.np, opts, p)
			if got := names(p); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMapLocalRanks(t *testing.T) {
	hosts := []Host{{"a", 2, 0}, {"b", 3, 0}}
	p, err := Map(hosts, 5, MapOptions{By: "node"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Placement{
		{0, "a", 0, 0, 2},
		{1, "b", 1, 0, 3},
		{2, "a", 0, 1, 2},
		{3, "b", 1, 1, 3},
		{4, "b", 1, 2, 3},
	}
	for i := range want {
		if p[i] != want[i] {
			t.Errorf("rank %d: got %+v, want %+v", i, p[i], want[i])
		}
	}
}

func TestMapMaxSlotsAndZero(t *testing.T) {
	tests := []struct {
		hosts []Host
		by    string
		np    int
		want  string
	}{
		{[]Host{{"a", 1, 2}, {"b", 1, 3}}, "slot", 5, "a a b b b"},
		{[]Host{{"a", 1, 2}, {"b", 1, 3}}, "node", 5, "a b a b b"},
		{[]Host{{"a", 0, 0}, {"b", 2, 0}}, "slot", 2, "b b"},
		{[]Host{{"a", 0, 0}, {"b", 2, 0}}, "slot", 3, "b b b"},
		{[]Host{{"a", 0, 0}, {"b", 2, 0}}, "node", 3, "b b b"},
		{[]Host{{"a", 2, 2}, {"b", 1, 0}}, "slot", 6, "a a b b b b"},
		{[]Host{{"a", 1, 0}, {"b", 1, 0}, {"c", 1, 0}}, "slot", 10, "a a a a b b b c c c"},
	}
	for _, tt := range tests {
		opts := MapOptions{By: tt.by, Oversubscribe: true}
		p, err := Map(tt.hosts, tt.np, opts)
		if err != nil {
			t.Errorf("%v np=%d by %s: %v", tt.hosts, tt.np, tt.by, err)
			continue
		}
		checkInvariants(t, tt.hosts, tt.np, opts, p)
		if got := names(p); got != tt.want {
			t.Errorf("%v np=%d by %s: got %q, want %q", tt.hosts, tt.np, tt.by, got, tt.want)
		}
	}
}

func TestMapErrors(t *testing.T) {
	abc := []Host{{"a", 2, 0}, {"b", 2, 0}, {"c", 2, 0}}
	many := make([]Host, 10)
	for i := range many {
		many[i] = Host{Name: fmt.Sprintf("n%d", i), Slots: 1}
	}
	tests := []struct {
		hosts []Host
		np    int
		opts  MapOptions
		want  string
	}{
		{abc, 8, MapOptions{}, "not enough slots: 8 ranks requested but the hosts provide 6 (hosts: a:2 b:2 c:2); add slots or pass --oversubscribe"},
		{abc, 7, MapOptions{By: "node"}, "not enough slots: 7 ranks requested but the hosts provide 6 (hosts: a:2 b:2 c:2); add slots or pass --oversubscribe"},
		{many, 11, MapOptions{}, "not enough slots: 11 ranks requested but the hosts provide 10 (hosts: n0:1 n1:1 n2:1 n3:1 n4:1 n5:1 n6:1 n7:1 … (2 more)); add slots or pass --oversubscribe"},
		{abc, 0, MapOptions{}, "invalid number of ranks 0: must be at least 1"},
		{abc, -3, MapOptions{}, "invalid number of ranks -3: must be at least 1"},
		{nil, 1, MapOptions{}, "no hosts to place ranks on"},
		{abc, 1 << 40, MapOptions{Oversubscribe: true}, "invalid number of ranks 1099511627776: at most 16777216 are supported"},
		{abc, 1, MapOptions{By: "core"}, `unsupported mapping policy "core" (want "slot" or "node")`},
		{[]Host{{"a", 1, 0}, {"a", 1, 0}}, 1, MapOptions{}, `host "a" is listed twice`},
		{[]Host{{"", 1, 0}}, 1, MapOptions{}, "host 0 has an empty name"},
		{[]Host{{"a", -1, 0}}, 1, MapOptions{}, `host "a" has a negative slot count -1`},
		{[]Host{{"a", 1, -1}}, 1, MapOptions{}, `host "a" has a negative max_slots -1`},
		{[]Host{{"a", 3, 2}}, 1, MapOptions{}, `host "a" has 3 slots, more than its max_slots=2`},
		{[]Host{{"a", 0, 0}}, 1, MapOptions{Oversubscribe: true}, "cannot place 1 ranks: no host has any slots (hosts: a:0)"},
		{[]Host{{"a", 1, 2}, {"b", 2, 3}}, 6, MapOptions{Oversubscribe: true},
			"cannot place 6 ranks even when oversubscribing: the hosts' max_slots allow at most 5 (hosts: a:1(max 2) b:2(max 3))"},
	}
	for _, tt := range tests {
		p, err := Map(tt.hosts, tt.np, tt.opts)
		if err == nil {
			t.Errorf("Map(%v, %d, %+v) = %q, want error", tt.hosts, tt.np, tt.opts, names(p))
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("Map(%v, %d, %+v) error\n got %s\nwant %s", tt.hosts, tt.np, tt.opts, err, tt.want)
		}
	}
}

func TestMapRandom(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for iter := 0; iter < 3000; iter++ {
		n := 1 + rng.Intn(6)
		hosts := make([]Host, n)
		for i := range hosts {
			hosts[i] = Host{Name: fmt.Sprintf("h%d", i), Slots: rng.Intn(5)}
			if rng.Intn(3) == 0 {
				hosts[i].MaxSlots = hosts[i].Slots + rng.Intn(4)
				if hosts[i].MaxSlots == 0 {
					hosts[i].MaxSlots = 1
				}
			}
		}
		np := 1 + rng.Intn(25)
		opts := MapOptions{By: []string{"slot", "node"}[rng.Intn(2)], Oversubscribe: rng.Intn(2) == 0}
		p, err := Map(hosts, np, opts)
		total, limit := TotalSlots(hosts), capacity(hosts)
		fits := np <= total || (opts.Oversubscribe && total > 0 && np <= limit)
		if fits != (err == nil) {
			t.Fatalf("Map(%v, %d, %+v): err %v, but fits=%v", hosts, np, opts, err, fits)
		}
		if err == nil {
			checkInvariants(t, hosts, np, opts, p)
		}
	}
}

func TestMapDefaultNP(t *testing.T) {
	hosts, err := ParseHostList("a:2,b,c:3")
	if err != nil {
		t.Fatal(err)
	}
	np := TotalSlots(hosts)
	p, err := Map(hosts, np, MapOptions{})
	if err != nil || names(p) != "a a b c c c" {
		t.Fatalf("got %q, %v", names(p), err)
	}
}

func TestMapLarge(t *testing.T) {
	// Round robin over many hosts with one big host stays linear.
	hosts := []Host{{"big", 200000, 0}}
	for i := 0; i < 20000; i++ {
		hosts = append(hosts, Host{Name: fmt.Sprintf("n%d", i), Slots: 1})
	}
	for _, by := range []string{"slot", "node"} {
		p, err := Map(hosts, 300000, MapOptions{By: by, Oversubscribe: true})
		if err != nil {
			t.Fatal(err)
		}
		checkInvariants(t, hosts, 300000, MapOptions{By: by, Oversubscribe: true}, p)
	}
}
