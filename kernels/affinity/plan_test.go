package affinity_test

import (
	"strings"
	"testing"

	"github.com/gorun-hpc/gorun/kernels/affinity"
	"github.com/gorun-hpc/gorun/kernels/topology"
	"github.com/gorun-hpc/gorun/kernels/topology/topotest"
)

func load(t *testing.T, name, allowed string) *topology.Topology {
	t.Helper()
	var a topology.CPUSet
	if allowed != "" {
		var err error
		if a, err = affinity.ParseCPUList(allowed); err != nil {
			t.Fatal(err)
		}
	}
	topo, err := topotest.Load("../topology/testdata/"+name+".sysfs", a)
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

func TestPlan(t *testing.T) {
	tests := []struct {
		machine, allowed string
		n                int
		mapBy, bindTo    string
		want             string // sets joined by " | "
		err              string // substring of the error
	}{
		{"vm2", "", 1, "", "", "0", ""},
		{"vm2", "", 2, "", "", "0 | 1", ""},
		{"vm2", "", 3, "", "", " |  | ", ""},        // oversubscribed unevenly: unbound by default
		{"vm2", "", 4, "", "", "0 | 0 | 1 | 1", ""}, // 2 ranks a core: consecutive ranks share one
		{"vm2", "", 8, "", "", "0 | 0 | 0 | 0 | 1 | 1 | 1 | 1", ""},
		{"vm2", "", 3, "", "core:overload-allowed", "0 | 0 | 1", ""},
		{"vm2", "", 2, "", "core:overload-allowed", "0 | 1", ""},
		{"vm2", "", 3, "", "core", "", "3 ranks exceed the 2 core(s)"},
		{"vm2", "", 2, "", "l3", "", "2 ranks exceed the 1 L3 cache(s)"},
		{"vm2", "", 1, "slot", "package", "0-1", ""},
		{"vm2", "", 2, "", "none", " | ", ""},
		{"vm2", "", 2, "numa", "hwthread", "0 | 1", ""},
		{"vm2", "1", 1, "", "", "1", ""},
		{"vm2", "1", 2, "", "", "1 | 1", ""},
		{"vm2", "1", 3, "", "core", "", "3 ranks exceed the 1 core(s)"},
		{"server2s", "", 4, "", "", "0,16 | 1,17 | 2,18 | 3,19", ""},
		{"server2s", "", 4, "core", "core", "0,16 | 1,17 | 2,18 | 3,19", ""},
		{"server2s", "", 4, "numa", "core", "0,16 | 8,24 | 1,17 | 9,25", ""},
		{"server2s", "", 3, "package", "core", "0,16 | 8,24 | 1,17", ""},
		{"server2s", "", 3, "slot", "hwthread", "0 | 1 | 2", ""},
		{"server2s", "", 2, "", "numa", "0-7,16-23 | 8-15,24-31", ""},
		{"server2s", "", 2, "", "l3", "0-7,16-23 | 8-15,24-31", ""},
		{"server2s", "", 2, "", "package", "0-7,16-23 | 8-15,24-31", ""},
		{"server2s", "", 3, "", "numa", "", "3 ranks exceed the 2 NUMA node(s)"},
		{"server2s", "", 17, "", "", strings.Repeat(" | ", 16), ""},
		{"server2s", "", 32, "", "", "", ""},
		{"server2s", "", 32, "numa", "core:overload-allowed", "", ""},
		{"server2s", "", 32, "", "hwthread", "", ""},
		{"server2s", "8-15,24-30", 2, "", "", "8,24 | 9,25", ""},
		{"server2s", "8-15,24-30", 8, "", "", "", ""},
		{"server2s", "8-15,24-30", 1, "", "numa", "8-15,24-30", ""},
		{"server2s", "8-15,24-30", 2, "", "numa", "", "2 ranks exceed the 1 NUMA node(s) with allowed CPUs (8-15,24-30)"},
		{"server2s", "7,8", 2, "numa", "core", "7 | 8", ""},
		{"desktop", "", 12, "", "", "0-1 | 2-3 | 4-5 | 6-7 | 8-9 | 10-11 | 12-13 | 14-15 | 16 | 17 | 18 | 19", ""},
		{"desktop", "", 2, "", "l3", "", "exceed the 1 L3"},
		{"minimal", "", 3, "", "l3", "", "exceed the 1 L3"}, // no caches: packages stand in
		{"vm2", "", 1, "bogus", "", "", "unknown --map-by"},
		{"vm2", "", 1, "", "socket", "", "unknown --bind-to"},
		{"vm2", "", 0, "", "", "", "need at least one"},
	}
	for _, tc := range tests {
		name := tc.machine + "/" + tc.allowed + "/" + tc.mapBy + "/" + tc.bindTo
		t.Run(name, func(t *testing.T) {
			topo := load(t, tc.machine, tc.allowed)
			sets, err := affinity.Plan(topo, tc.n, tc.mapBy, tc.bindTo)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(sets) != tc.n {
				t.Fatalf("%d sets, want %d", len(sets), tc.n)
			}
			var parts []string
			seen := topology.CPUSet(nil)
			for i, s := range sets {
				parts = append(parts, s.String())
				// Only consecutive ranks may share a set (several
				// ranks a core); sets are disjoint otherwise.
				shared := i > 0 && len(s) > 0 && s.String() == sets[i-1].String()
				if !shared && !s.Intersect(seen).IsEmpty() {
					t.Errorf("set %s overlaps earlier sets %s", s, seen)
				}
				if !s.IsSubsetOf(topo.Allowed()) {
					t.Errorf("set %s outside allowed %s", s, topo.Allowed())
				}
				seen = seen.Union(s)
			}
			if got := strings.Join(parts, " | "); tc.want != "" && got != tc.want {
				t.Errorf("plan = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDefaultBindTo(t *testing.T) {
	topo := load(t, "server2s", "")
	if got := affinity.DefaultBindTo(topo, 16); got != "core" {
		t.Errorf("16 ranks: %s", got)
	}
	if got := affinity.DefaultBindTo(topo, 17); got != "none" {
		t.Errorf("17 ranks: %s", got)
	}
	if got := affinity.DefaultBindTo(topo, 32); got != affinity.BindCoreOverload {
		t.Errorf("32 ranks: %s", got)
	}
	if got := affinity.DefaultBindTo(topo, 48); got != affinity.BindCoreOverload {
		t.Errorf("48 ranks: %s", got)
	}
}

func TestEnv(t *testing.T) {
	env := affinity.Environ(topology.NewCPUSet(0, 1, 2, 8), 1)
	if strings.Join(env, " ") != "GORUN_CPUSET=0-2,8 GORUN_NUMA_NODE=1" {
		t.Errorf("Environ = %v", env)
	}
	t.Setenv(affinity.EnvCPUSet, "0-2,8")
	t.Setenv(affinity.EnvNUMANode, "1")
	b, ok, err := affinity.FromEnv()
	if err != nil || !ok || b.CPUs.String() != "0-2,8" || b.NUMANode != 1 {
		t.Errorf("FromEnv = %+v, %v, %v", b, ok, err)
	}
	t.Setenv(affinity.EnvNUMANode, "x")
	if _, _, err := affinity.FromEnv(); err == nil {
		t.Error("bad node accepted")
	}
	t.Setenv(affinity.EnvNUMANode, "")
	t.Setenv(affinity.EnvCPUSet, "3-1")
	if _, _, err := affinity.FromEnv(); err == nil {
		t.Error("bad set accepted")
	}
}

func TestSelf(t *testing.T) {
	topo, err := topology.Host()
	if err != nil {
		t.Skip(err)
	}
	t.Setenv(affinity.EnvCPUSet, "")
	t.Setenv(affinity.EnvNUMANode, "")
	b, err := affinity.Self(topo)
	if err != nil {
		t.Fatal(err)
	}
	if b.CPUs.IsEmpty() || (len(topo.NUMANodes) == 1 && b.NUMANode != topo.NUMANodes[0].ID) {
		t.Errorf("Self = %+v", b)
	}
	t.Setenv(affinity.EnvCPUSet, "0")
	t.Setenv(affinity.EnvNUMANode, "3")
	if b, _ := affinity.Self(topo); b.CPUs.String() != "0" || b.NUMANode != 3 {
		t.Errorf("Self from env = %+v", b)
	}
}
