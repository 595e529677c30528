package topology_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gorun-hpc/gorun/kernels/topology"
	"github.com/gorun-hpc/gorun/kernels/topology/topotest"
)

func mustSet(t *testing.T, s string) topology.CPUSet {
	t.Helper()
	v, err := topology.ParseCPUList(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestFixtures(t *testing.T) {
	type want struct {
		online, allowed            string
		packages, nodes, cores     int
		smt                        []int // CPUs per core, by core index
		nodeCPUs                   []string
		memory                     uint64
		l3                         []string
		l2                         int
		siblings                   map[int]string
		pkgOfCPU                   map[int]int
		textContains, textExcludes []string
	}
	tests := []struct {
		name    string
		file    string
		allowed string
		want    want
	}{
		{"vm2", "testdata/vm2.sysfs", "", want{
			online: "0-1", allowed: "0-1", packages: 1, nodes: 1, cores: 2,
			smt: []int{1, 1}, nodeCPUs: []string{"0-1"}, memory: 4155596 * 1024,
			l3: []string{"0-1"}, l2: 2,
			siblings: map[int]string{0: "0", 1: "1"}, pkgOfCPU: map[int]int{0: 0, 1: 0},
			textContains: []string{"L3 (480 MiB)", "Core P#1 + PU P#1"},
		}},
		{"server2s", "testdata/server2s.sysfs", "", want{
			online: "0-31", allowed: "0-31", packages: 2, nodes: 2, cores: 16,
			smt: []int{2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2}, nodeCPUs: []string{"0-7,16-23", "8-15,24-31"},
			memory: 2 * 64 << 30, l3: []string{"0-7,16-23", "8-15,24-31"}, l2: 16,
			siblings:     map[int]string{0: "0,16", 5: "5,21", 21: "5,21", 31: "15,31"},
			pkgOfCPU:     map[int]int{0: 0, 8: 1, 16: 0, 31: 1},
			textContains: []string{"Package P#1", "NUMANode P#1 (64 GiB)", "L3 (24 MiB)", "Core P#10", "PU P#31"},
		}},
		{"server2s restricted to socket 1 minus one sibling", "testdata/server2s.sysfs", "8-15,24-30", want{
			online: "0-31", allowed: "8-15,24-30", packages: 2, nodes: 2, cores: 16,
			nodeCPUs: []string{"0-7,16-23", "8-15,24-31"}, l3: []string{"0-7,16-23", "8-15,24-31"}, l2: 16,
			siblings:     map[int]string{15: "15,31"},
			textContains: []string{"PU P#0 (not allowed)", "PU P#31 (not allowed)", "allowed 8-15,24-30"},
			textExcludes: []string{"PU P#8 (not allowed)"},
		}},
		{"desktop", "testdata/desktop.sysfs", "", want{
			online: "0-19", allowed: "0-19", packages: 1, nodes: 1, cores: 12,
			smt:      []int{2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1},
			nodeCPUs: []string{"0-19"}, memory: 32768000 * 1024, l3: []string{"0-19"}, l2: 9,
			siblings: map[int]string{0: "0-1", 3: "2-3", 17: "17"}, pkgOfCPU: map[int]int{19: 0},
			textContains: []string{"L2 (2 MiB)", "L3 (25 MiB)"},
		}},
		{"minimal", "testdata/minimal.sysfs", "", want{
			online: "0,2-3", allowed: "0,2-3", packages: 1, nodes: 1, cores: 3,
			smt: []int{1, 1, 1}, nodeCPUs: []string{"0,2-3"}, l2: 0,
		}},
		{"minimal with allowed outside online", "testdata/minimal.sysfs", "1-2,9", want{
			online: "0,2-3", allowed: "2", packages: 1, nodes: 1, cores: 3, nodeCPUs: []string{"0,2-3"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var allowed topology.CPUSet
			if tc.allowed != "" {
				allowed = mustSet(t, tc.allowed)
			}
			topo, err := topotest.Load(tc.file, allowed)
			if err != nil {
				t.Fatal(err)
			}
			w := tc.want
			if got := topo.Online.String(); got != w.online {
				t.Errorf("online = %q, want %q", got, w.online)
			}
			if got := topo.Allowed().String(); got != w.allowed {
				t.Errorf("allowed = %q, want %q", got, w.allowed)
			}
			if len(topo.Packages) != w.packages || len(topo.NUMANodes) != w.nodes || len(topo.Cores) != w.cores {
				t.Errorf("packages/nodes/cores = %d/%d/%d, want %d/%d/%d",
					len(topo.Packages), len(topo.NUMANodes), len(topo.Cores), w.packages, w.nodes, w.cores)
			}
			if w.smt != nil {
				for i, c := range topo.Cores {
					if c.CPUs.Len() != w.smt[i] {
						t.Errorf("core %d has %s, want %d CPUs", i, c.CPUs, w.smt[i])
					}
				}
			}
			for i, s := range w.nodeCPUs {
				if got := topo.NUMANodes[i].CPUs.String(); got != s {
					t.Errorf("node %d CPUs = %s, want %s", i, got, s)
				}
			}
			if w.memory != 0 && topo.MemoryBytes() != w.memory {
				t.Errorf("memory = %d, want %d", topo.MemoryBytes(), w.memory)
			}
			var l3 []string
			for _, c := range topo.LastLevelCaches() {
				l3 = append(l3, c.CPUs.String())
			}
			if w.l3 != nil && strings.Join(l3, " ") != strings.Join(w.l3, " ") {
				t.Errorf("LLC sharing = %v, want %v", l3, w.l3)
			}
			nl2 := 0
			for _, c := range topo.Caches {
				if c.Level == 2 {
					nl2++
				}
			}
			if nl2 != w.l2 {
				t.Errorf("%d L2 caches, want %d", nl2, w.l2)
			}
			for cpu, sib := range w.siblings {
				c, ok := topo.CPU(cpu)
				if !ok {
					t.Fatalf("CPU %d missing", cpu)
				}
				if got := topo.Cores[c.Core].CPUs.String(); got != sib {
					t.Errorf("siblings of CPU %d = %s, want %s", cpu, got, sib)
				}
			}
			for cpu, pkg := range w.pkgOfCPU {
				if c, _ := topo.CPU(cpu); c.Package != pkg {
					t.Errorf("CPU %d in package %d, want %d", cpu, c.Package, pkg)
				}
			}
			// Every online CPU is in exactly one core, one package, one node.
			for _, c := range topo.CPUs {
				if !topo.Cores[c.Core].CPUs.Contains(c.ID) {
					t.Errorf("CPU %d not in its core", c.ID)
				}
				if c.Allowed != topo.Allowed().Contains(c.ID) {
					t.Errorf("CPU %d allowed flag wrong", c.ID)
				}
				n := 0
				for _, nd := range topo.NUMANodes {
					if nd.CPUs.Contains(c.ID) {
						n++
					}
				}
				if n != 1 {
					t.Errorf("CPU %d in %d NUMA nodes", c.ID, n)
				}
			}
			text := topo.String()
			for _, s := range w.textContains {
				if !strings.Contains(text, s) {
					t.Errorf("text lacks %q:\n%s", s, text)
				}
			}
			for _, s := range w.textExcludes {
				if strings.Contains(text, s) {
					t.Errorf("text has %q:\n%s", s, text)
				}
			}
			if strings.Count(text, "PU P#") != len(topo.CPUs) {
				t.Errorf("text shows %d PUs, want %d:\n%s", strings.Count(text, "PU P#"), len(topo.CPUs), text)
			}
			// JSON round trip.
			b, err := json.Marshal(topo)
			if err != nil {
				t.Fatal(err)
			}
			var back topology.Topology
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			b2, _ := json.Marshal(&back)
			if !bytes.Equal(b, b2) {
				t.Errorf("JSON round trip differs:\n%s\n%s", b, b2)
			}
		})
	}
}

func TestServerTextShape(t *testing.T) {
	topo, err := topotest.Load("testdata/server2s.sysfs", nil)
	if err != nil {
		t.Fatal(err)
	}
	text := topo.String()
	t.Log("\n" + text)
	lines := strings.Split(text, "\n")
	// The package line merges with its NUMA node and the L3 sits below it.
	want := []string{
		"  Package P#0 + NUMANode P#0 (64 GiB)",
		"    L3 (24 MiB)",
		"      L2 (1 MiB) + L1d (32 KiB) + L1i (32 KiB) + Core P#0",
		"        PU P#0",
		"        PU P#16",
	}
	for i, w := range want {
		if i+1 >= len(lines) || lines[i+1] != w {
			t.Fatalf("line %d = %q, want %q", i+1, lines[i+1], w)
		}
	}
	if topo.NUMANodes[1].Distances[0] != 21 {
		t.Errorf("distance 1→0 = %v", topo.NUMANodes[1].Distances)
	}
	if got := topo.NUMANodeOf(mustSet(t, "8,24")); got != 1 {
		t.Errorf("NUMANodeOf(8,24) = %d", got)
	}
	if got := topo.NUMANodeOf(mustSet(t, "7-8")); got != -1 {
		t.Errorf("NUMANodeOf(7-8) = %d", got)
	}
}

func TestMalformed(t *testing.T) {
	tests := map[string]string{
		"bad online":   "cpu/online 0-x\n",
		"bad core id":  "cpu/online 0\ncpu/cpu0/topology/core_id abc\n",
		"bad size":     "cpu/online 0\ncpu/cpu0/cache/index0/level 1\ncpu/cpu0/cache/index0/size 12Q\n",
		"bad node":     "cpu/online 0\nnode/online 0\nnode/node0/cpulist 5-1\n",
		"bad mask":     "cpu/online 0\ncpu/cpu0/cache/index0/level 1\ncpu/cpu0/cache/index0/shared_cpu_map zz\n",
		"bad meminfo":  "cpu/online 0\nnode/online 0\nnode/node0/cpulist 0\nnode/node0/meminfo Node 0 MemTotal: x kB\n",
		"bad distance": "cpu/online 0\nnode/online 0\nnode/node0/cpulist 0\nnode/node0/distance ten\n",
	}
	for name, fx := range tests {
		t.Run(name, func(t *testing.T) {
			fsys, err := topotest.Expand(fx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := topology.DetectFS(fsys, topology.Options{}); err == nil {
				t.Error("no error")
			}
		})
	}
	fsys, _ := topotest.Expand("# empty\n")
	if _, err := topology.DetectFS(fsys, topology.Options{}); err != topology.ErrNoCPUs {
		t.Errorf("empty tree: err = %v, want ErrNoCPUs", err)
	}
}

func TestHost(t *testing.T) {
	a, err := topology.Host()
	if err != nil {
		t.Skipf("no sysfs here: %v", err)
	}
	b, _ := topology.Host()
	if a != b {
		t.Error("Host returned different values")
	}
	if a.Allowed().IsEmpty() || len(a.Cores) == 0 {
		t.Errorf("host topology looks empty:\n%s", a)
	}
	var buf bytes.Buffer
	if err := a.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + buf.String())
}
