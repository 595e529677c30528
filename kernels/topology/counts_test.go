package topology

import (
	"strings"
	"testing"
)

// TestFromCounts checks the topology built from sysctl-style counts (the
// macOS and FreeBSD path), on Linux too.
func TestFromCounts(t *testing.T) {
	tests := []struct {
		name                 string
		c                    counts
		cores, pkgs, perCore int
		caches               []string // Name and CPUs of each cache, in order
		wantMem              uint64
	}{
		{"one CPU", counts{logical: 1}, 1, 1, 1, nil, 0},
		{"intel mac 4c8t", counts{logical: 8, physical: 4, packages: 1, memory: 16 << 30, caches: []cacheCount{
			{level: 1, typ: "Data", size: 32 << 10, line: 64, shared: 2},
			{level: 1, typ: "Instruction", size: 32 << 10, line: 64, shared: 2},
			{level: 2, typ: "Unified", size: 256 << 10, shared: 2},
			{level: 3, typ: "Unified", size: 8 << 20, shared: 8},
		}}, 4, 1, 2, []string{"L1d 0-1", "L1i 0-1", "L1d 2-3", "L1i 2-3", "L1d 4-5", "L1i 4-5", "L1d 6-7", "L1i 6-7",
			"L2 0-1", "L2 2-3", "L2 4-5", "L2 6-7", "L3 0-7"}, 16 << 30},
		{"apple m1", counts{logical: 8, physical: 8, caches: []cacheCount{
			{level: 1, typ: "Data", size: 64 << 10, shared: 1},
			{level: 2, typ: "Unified", size: 4 << 20, shared: 4},
			{level: 3, typ: "Unified", size: 0},
		}}, 8, 1, 1, []string{"L1d 0", "L1d 1", "L1d 2", "L1d 3", "L1d 4", "L1d 5", "L1d 6", "L1d 7", "L2 0-3", "L2 4-7"}, 0},
		{"two packages", counts{logical: 12, physical: 6, packages: 2}, 6, 2, 2, nil, 0},
		{"odd sharing", counts{logical: 5, physical: 5, caches: []cacheCount{{level: 2, typ: "Unified", size: 1 << 20, shared: 2}}},
			5, 1, 1, []string{"L2 0-1", "L2 2-3", "L2 4"}, 0},
		{"inconsistent counts", counts{logical: 6, physical: 4, packages: 4,
			caches: []cacheCount{{level: 2, typ: "Unified", size: 1 << 20, shared: 99}}}, 6, 1, 1, []string{"L2 0-5"}, 0},
		{"no count", counts{}, 1, 1, 1, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isa := ISA{Vendor: "V", Features: []string{"A"}}
			topo := fromCounts(tt.c, &isa)
			n := max(tt.c.logical, 1)
			if len(topo.CPUs) != n || len(topo.Online) != n || !topo.Allowed().Equal(topo.Online) {
				t.Fatalf("CPUs %d, online %s, allowed %s; want %d", len(topo.CPUs), topo.Online, topo.Allowed(), n)
			}
			if len(topo.Cores) != tt.cores || len(topo.Packages) != tt.pkgs || len(topo.NUMANodes) != 1 {
				t.Fatalf("cores %d packages %d nodes %d; want %d %d 1", len(topo.Cores), len(topo.Packages), len(topo.NUMANodes), tt.cores, tt.pkgs)
			}
			var seen CPUSet
			for _, core := range topo.Cores {
				if len(core.CPUs) != tt.perCore {
					t.Errorf("core %d has CPUs %s; want %d", core.Index, core.CPUs, tt.perCore)
				}
				for _, c := range core.CPUs {
					cpu, ok := topo.CPU(c)
					if !ok || cpu.Core != core.Index || cpu.Package != core.Package || !cpu.Allowed {
						t.Errorf("CPU %d: %+v; its core is %+v", c, cpu, core)
					}
				}
				seen = seen.Union(core.CPUs)
			}
			if !seen.Equal(topo.Online) {
				t.Errorf("cores cover %s; want %s", seen, topo.Online)
			}
			var pkgCPUs CPUSet
			for _, p := range topo.Packages {
				for _, k := range p.Cores {
					if !topo.Cores[k].CPUs.IsSubsetOf(p.CPUs) {
						t.Errorf("package %d: core %d (%s) not in %s", p.ID, k, topo.Cores[k].CPUs, p.CPUs)
					}
				}
				pkgCPUs = pkgCPUs.Union(p.CPUs)
			}
			if !pkgCPUs.Equal(topo.Online) {
				t.Errorf("packages cover %s; want %s", pkgCPUs, topo.Online)
			}
			var got []string
			for _, c := range topo.Caches {
				got = append(got, c.Name()+" "+c.CPUs.String())
			}
			if strings.Join(got, ",") != strings.Join(tt.caches, ",") {
				t.Errorf("caches %q; want %q", got, tt.caches)
			}
			if topo.MemoryBytes() != tt.wantMem {
				t.Errorf("memory %d; want %d", topo.MemoryBytes(), tt.wantMem)
			}
			isa.Features[0] = "changed"
			if topo.ISA.Vendor != "V" || topo.ISA.Features[0] != "A" {
				t.Errorf("ISA %+v not copied", topo.ISA)
			}
			if s := topo.String(); s == "" {
				t.Error("empty String")
			}
		})
	}
}
