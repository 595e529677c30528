package topology

import "sort"

// counts is what an operating system without sysfs (macOS's and FreeBSD's
// sysctl, or only runtime.NumCPU) tells about its processors: how many
// there are, not which shares what. [fromCounts] turns it into a
// [Topology] with contiguous numbering.
type counts struct {
	logical  int    // logical CPUs (hardware threads); must be ≥ 1
	physical int    // physical cores; 0 or inconsistent: one per logical CPU
	packages int    // packages; 0 or inconsistent: 1
	memory   uint64 // bytes; 0 when unknown
	caches   []cacheCount
	source   string
}

// cacheCount is one cache level as a sysctl reports it: the size of one
// instance and how many logical CPUs share it.
type cacheCount struct {
	level  int
	typ    string // "Data", "Instruction" or "Unified"
	size   int64  // bytes; 0: no such cache
	line   int
	shared int // logical CPUs per instance; 0 or more than logical: all
}

// fromCounts builds the topology of a machine described by counts only:
// CPUs 0..logical-1, every one allowed, SMT siblings numbered
// consecutively, cores split evenly over packages, one NUMA node holding
// everything, and caches shared by consecutive groups of CPUs. That is
// how macOS and FreeBSD number their CPUs on common machines, but no
// operating system guarantees it, which is one reason binding is not
// offered there.
func fromCounts(c counts, isa *ISA) *Topology {
	n := max(c.logical, 1)
	phys := c.physical
	if phys < 1 || phys > n || n%phys != 0 {
		phys = n
	}
	perCore := n / phys
	pkgs := c.packages
	if pkgs < 1 || phys%pkgs != 0 {
		pkgs = 1
	}
	perPkg := phys / pkgs

	t := &Topology{Source: c.source, TotalMemory: c.memory}
	if isa != nil {
		t.ISA = *isa
		t.ISA.Features = append([]string(nil), isa.Features...)
	}
	online := make(CPUSet, n)
	for i := range online {
		online[i] = i
	}
	t.Online, t.AllowedCPUs = online, online
	for k := range phys {
		t.Cores = append(t.Cores, Core{Index: k, Package: k / perPkg, CoreID: k % perPkg,
			CPUs: online[k*perCore : (k+1)*perCore : (k+1)*perCore]})
	}
	for i := range n {
		k := i / perCore
		t.CPUs = append(t.CPUs, CPU{ID: i, Package: k / perPkg, CoreID: k % perPkg, Core: k, Allowed: true})
	}
	for p := range pkgs {
		pk := Package{ID: p, NUMANodes: []int{0},
			CPUs: online[p*perPkg*perCore : (p+1)*perPkg*perCore : (p+1)*perPkg*perCore]}
		for k := p * perPkg; k < (p+1)*perPkg; k++ {
			pk.Cores = append(pk.Cores, k)
		}
		t.Packages = append(t.Packages, pk)
	}
	t.NUMANodes = []NUMANode{{ID: 0, CPUs: online, MemoryBytes: c.memory}}
	for _, cc := range c.caches {
		if cc.size <= 0 || cc.level < 1 {
			continue
		}
		share := cc.shared
		if share < 1 || share > n {
			share = n
		}
		for first := 0; first < n; first += share {
			last := min(first+share, n)
			t.Caches = append(t.Caches, Cache{Level: cc.level, Type: cc.typ, SizeBytes: cc.size,
				LineSize: cc.line, CPUs: online[first:last:last]})
		}
	}
	sort.SliceStable(t.Caches, func(i, j int) bool {
		a, b := t.Caches[i], t.Caches[j]
		if a.Level != b.Level {
			return a.Level < b.Level
		}
		if a.CPUs.First() != b.CPUs.First() {
			return a.CPUs.First() < b.CPUs.First()
		}
		return a.Type < b.Type
	})
	return t
}
