package topology

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// SysfsRoot is the directory that [Detect] reads; a file system passed to
// [DetectFS] must be laid out like it (with "cpu/…" and "node/…" at its
// root).
const SysfsRoot = "/sys/devices/system"

// Topology is the hardware layout of one machine. Build it with [Host],
// [Detect] or [DetectFS]; it is never modified afterwards and may be read
// from any number of goroutines. The slices are ordered by ascending ID
// (Cores by first CPU) and must not be modified by callers.
type Topology struct {
	// Source names where the description came from (a directory or
	// "fs.FS").
	Source string `json:"source"`
	// Online is the set of online CPUs described by CPUs.
	Online CPUSet `json:"online_cpus"`
	// AllowedCPUs is the subset of Online that the process may run on
	// (its scheduler affinity at detection time).
	AllowedCPUs CPUSet     `json:"allowed_cpus"`
	CPUs        []CPU      `json:"cpus"`
	Cores       []Core     `json:"cores"`
	Packages    []Package  `json:"packages"`
	NUMANodes   []NUMANode `json:"numa_nodes"`
	Caches      []Cache    `json:"caches"`
	// TotalMemory is the machine's memory: MemTotal from /proc/meminfo
	// on Linux, hw.memsize on macOS, hw.physmem on FreeBSD (0 when
	// unknown, as for a replayed sysfs tree); see MemoryBytes.
	TotalMemory uint64 `json:"total_memory_bytes,omitempty"`
	ISA         ISA    `json:"isa"`
}

// CPU is one logical processor (a hardware thread, "PU" in hwloc terms).
type CPU struct {
	ID       int  `json:"id"`
	Package  int  `json:"package"`   // physical package (socket) ID
	Die      int  `json:"die"`       // die ID within the package
	CoreID   int  `json:"core_id"`   // core ID as reported by the kernel (unique per package and die only)
	Core     int  `json:"core"`      // index into Topology.Cores
	NUMANode int  `json:"numa_node"` // NUMA node ID
	Allowed  bool `json:"allowed"`   // in the process's allowed CPU set
}

// Core is one physical core; its CPUs are SMT siblings.
type Core struct {
	Index    int    `json:"index"` // position in Topology.Cores
	Package  int    `json:"package"`
	Die      int    `json:"die"`
	CoreID   int    `json:"core_id"`
	NUMANode int    `json:"numa_node"` // node of its first CPU
	CPUs     CPUSet `json:"cpus"`
}

// Package is one processor package (socket).
type Package struct {
	ID        int    `json:"id"`
	CPUs      CPUSet `json:"cpus"`
	Cores     []int  `json:"cores"`      // indices into Topology.Cores
	NUMANodes []int  `json:"numa_nodes"` // IDs of nodes with CPUs in this package
}

// NUMANode is one memory node. A node without CPUs (memory only) has an
// empty CPUs set.
type NUMANode struct {
	ID          int    `json:"id"`
	CPUs        CPUSet `json:"cpus"`
	MemoryBytes uint64 `json:"memory_bytes"` // MemTotal; 0 when unknown
	// Distances holds the kernel's relative access distances from this
	// node to each node of Topology.NUMANodes, in the same order
	// (10 means local); nil when unknown.
	Distances []int `json:"distances,omitempty"`
}

// Cache is one CPU cache instance and the CPUs that share it.
type Cache struct {
	Level     int    `json:"level"`
	Type      string `json:"type"` // "Data", "Instruction" or "Unified"
	SizeBytes int64  `json:"size_bytes"`
	LineSize  int    `json:"line_size,omitempty"`
	Ways      int    `json:"ways,omitempty"`
	CPUs      CPUSet `json:"cpus"`
}

// Name is the usual short name of the cache: "L1d", "L1i", "L2", "L3".
func (c Cache) Name() string {
	n := "L" + strconv.Itoa(c.Level)
	switch c.Type {
	case "Data":
		n += "d"
	case "Instruction":
		n += "i"
	}
	return n
}

// Options adjusts [DetectFS]. The zero value describes all online CPUs as
// allowed and leaves the ISA empty.
type Options struct {
	// Allowed is the process's allowed CPU set; nil means every online
	// CPU. CPUs that are not online are ignored.
	Allowed CPUSet
	// ISA, when non-nil, is copied into the topology.
	ISA *ISA
	// Source is recorded in Topology.Source; "" gives "fs.FS".
	Source string
}

var (
	hostOnce sync.Once
	hostTopo *Topology
	hostErr  error
)

// Host returns the topology of the running machine, detected by [Detect] on
// the first call; later calls return the same value (and error). Safe for
// concurrent use. Because the allowed CPU set is recorded at the first call,
// a rank that changes its own affinity should call Host after doing so, or
// use [Detect].
func Host() (*Topology, error) {
	hostOnce.Do(func() { hostTopo, hostErr = Detect() })
	return hostTopo, hostErr
}

// ErrNoCPUs is returned by [DetectFS] when the file system describes no CPU.
var ErrNoCPUs = errors.New("topology: no online CPUs found")

// DetectFS builds a topology from a sysfs tree laid out like [SysfsRoot]
// (paths "cpu/online", "cpu/cpu0/topology/core_id", "node/node0/cpulist",
// …). Missing optional files get defaults: package and die 0, core ID equal
// to the CPU number, a single NUMA node holding every CPU, no caches.
// Malformed files are errors.
func DetectFS(fsys fs.FS, opt Options) (*Topology, error) {
	r := reader{fsys: fsys}
	t := &Topology{Source: opt.Source}
	if t.Source == "" {
		t.Source = "fs.FS"
	}
	if opt.ISA != nil {
		t.ISA = *opt.ISA
		t.ISA.Features = slices.Clone(opt.ISA.Features)
	}

	online, err := r.onlineSet("cpu", "cpu")
	if err != nil {
		return nil, err
	}
	if online.IsEmpty() {
		return nil, ErrNoCPUs
	}
	t.Online = online
	if opt.Allowed == nil {
		t.AllowedCPUs = online
	} else {
		t.AllowedCPUs = online.Intersect(opt.Allowed)
	}

	// NUMA nodes.
	nodeIDs, err := r.onlineSet("node", "node")
	if err != nil {
		return nil, err
	}
	nodeOf := map[int]int{}
	for _, id := range nodeIDs {
		dir := fmt.Sprintf("node/node%d", id)
		cpus, err := r.cpuList(dir + "/cpulist")
		if err != nil {
			return nil, err
		}
		cpus = cpus.Intersect(online)
		n := NUMANode{ID: id, CPUs: cpus}
		if s, ok, err := r.str(dir + "/meminfo"); err != nil {
			return nil, err
		} else if ok {
			n.MemoryBytes, err = ParseMemTotal(s)
			if err != nil {
				return nil, fmt.Errorf("topology: %s/meminfo: %w", dir, err)
			}
		}
		if s, ok, err := r.str(dir + "/distance"); err != nil {
			return nil, err
		} else if ok {
			for _, f := range strings.Fields(s) {
				d, err := strconv.Atoi(f)
				if err != nil || d < 0 {
					return nil, fmt.Errorf("topology: %s/distance: bad distance %q", dir, f)
				}
				n.Distances = append(n.Distances, d)
			}
			if len(n.Distances) != len(nodeIDs) {
				n.Distances = nil // inconsistent with the node list; drop
			}
		}
		for _, c := range cpus {
			if _, dup := nodeOf[c]; !dup {
				nodeOf[c] = id
			}
		}
		t.NUMANodes = append(t.NUMANodes, n)
	}
	if len(t.NUMANodes) == 0 {
		t.NUMANodes = []NUMANode{{ID: 0, CPUs: online}}
		for _, c := range online {
			nodeOf[c] = 0
		}
	}
	// CPUs the node files did not mention go to the first node.
	for _, c := range online {
		if _, ok := nodeOf[c]; !ok {
			nodeOf[c] = t.NUMANodes[0].ID
			t.NUMANodes[0].CPUs = t.NUMANodes[0].CPUs.Union(CPUSet{c})
		}
	}

	// CPUs and cores.
	type coreKey struct{ pkg, die, core int }
	coreIdx := map[coreKey]int{}
	var cacheKeys = map[string]int{}
	for _, c := range online {
		dir := fmt.Sprintf("cpu/cpu%d", c)
		cpu := CPU{ID: c, NUMANode: nodeOf[c], Allowed: t.AllowedCPUs.Contains(c)}
		if cpu.Package, err = r.intDefault(dir+"/topology/physical_package_id", 0); err != nil {
			return nil, err
		}
		if cpu.Die, err = r.intDefault(dir+"/topology/die_id", 0); err != nil {
			return nil, err
		}
		if cpu.CoreID, err = r.intDefault(dir+"/topology/core_id", c); err != nil {
			return nil, err
		}
		if cpu.Package < 0 {
			cpu.Package = 0
		}
		if cpu.Die < 0 {
			cpu.Die = 0
		}
		k := coreKey{cpu.Package, cpu.Die, cpu.CoreID}
		ci, ok := coreIdx[k]
		if !ok {
			ci = len(t.Cores)
			coreIdx[k] = ci
			t.Cores = append(t.Cores, Core{Index: ci, Package: cpu.Package, Die: cpu.Die, CoreID: cpu.CoreID, NUMANode: cpu.NUMANode})
		}
		t.Cores[ci].CPUs = append(t.Cores[ci].CPUs, c) // online is ascending
		cpu.Core = ci
		t.CPUs = append(t.CPUs, cpu)

		// Caches.
		for i := 0; ; i++ {
			cdir := fmt.Sprintf("%s/cache/index%d", dir, i)
			level, ok, err := r.int(cdir + "/level")
			if err != nil {
				return nil, err
			}
			if !ok {
				break
			}
			cc := Cache{Level: level, Type: "Unified"}
			if s, ok, err := r.str(cdir + "/type"); err != nil {
				return nil, err
			} else if ok {
				cc.Type = strings.TrimSpace(s)
			}
			if s, ok, err := r.str(cdir + "/size"); err != nil {
				return nil, err
			} else if ok {
				if cc.SizeBytes, err = ParseSize(s); err != nil {
					return nil, fmt.Errorf("topology: %s/size: %w", cdir, err)
				}
			}
			if cc.LineSize, _, err = r.int(cdir + "/coherency_line_size"); err != nil {
				return nil, err
			}
			if cc.Ways, _, err = r.int(cdir + "/ways_of_associativity"); err != nil {
				return nil, err
			}
			shared, ok, err := r.cpuListOpt(cdir + "/shared_cpu_list")
			if err != nil {
				return nil, err
			}
			if !ok {
				if s, ok2, err := r.str(cdir + "/shared_cpu_map"); err != nil {
					return nil, err
				} else if ok2 {
					if shared, err = ParseCPUMask(s); err != nil {
						return nil, fmt.Errorf("topology: %s/shared_cpu_map: %w", cdir, err)
					}
				}
			}
			shared = shared.Intersect(online)
			if !shared.Contains(c) {
				shared = shared.Union(CPUSet{c})
			}
			cc.CPUs = shared
			key := fmt.Sprintf("%d/%s/%s", cc.Level, cc.Type, shared)
			if _, dup := cacheKeys[key]; !dup {
				cacheKeys[key] = len(t.Caches)
				t.Caches = append(t.Caches, cc)
			}
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

	// Packages.
	pkgIdx := map[int]int{}
	for _, core := range t.Cores {
		pi, ok := pkgIdx[core.Package]
		if !ok {
			pi = len(t.Packages)
			pkgIdx[core.Package] = pi
			t.Packages = append(t.Packages, Package{ID: core.Package})
		}
		p := &t.Packages[pi]
		p.CPUs = p.CPUs.Union(core.CPUs)
		p.Cores = append(p.Cores, core.Index)
	}
	sort.Slice(t.Packages, func(i, j int) bool { return t.Packages[i].ID < t.Packages[j].ID })
	for i := range t.Packages {
		p := &t.Packages[i]
		for _, n := range t.NUMANodes {
			if !n.CPUs.Intersect(p.CPUs).IsEmpty() {
				p.NUMANodes = append(p.NUMANodes, n.ID)
			}
		}
	}
	return t, nil
}

// Allowed returns the CPUs the process may run on.
func (t *Topology) Allowed() CPUSet { return t.AllowedCPUs }

// CPU returns the CPU with the given ID.
func (t *Topology) CPU(id int) (CPU, bool) {
	i := sort.Search(len(t.CPUs), func(i int) bool { return t.CPUs[i].ID >= id })
	if i < len(t.CPUs) && t.CPUs[i].ID == id {
		return t.CPUs[i], true
	}
	return CPU{}, false
}

// NUMANodeOf returns the ID of the NUMA node that contains every CPU of set,
// or -1 when set is empty or spans several nodes.
func (t *Topology) NUMANodeOf(set CPUSet) int {
	if set.IsEmpty() {
		return -1
	}
	for _, n := range t.NUMANodes {
		if set.IsSubsetOf(n.CPUs) {
			return n.ID
		}
	}
	return -1
}

// LastLevelCaches returns the caches of the highest level found (L3 on most
// machines), one per instance, or nil when no cache is described.
func (t *Topology) LastLevelCaches() []Cache {
	maxL := 0
	for _, c := range t.Caches {
		if c.Type != "Instruction" && c.Level > maxL {
			maxL = c.Level
		}
	}
	var r []Cache
	for _, c := range t.Caches {
		if c.Level == maxL && c.Type != "Instruction" {
			r = append(r, c)
		}
	}
	return r
}

// MemoryBytes returns the machine's memory: the total of its NUMA nodes, or
// TotalMemory when that is larger (0 when unknown).
func (t *Topology) MemoryBytes() uint64 {
	var s uint64
	for _, n := range t.NUMANodes {
		s += n.MemoryBytes
	}
	return max(s, t.TotalMemory)
}

// reader reads small sysfs files.
type reader struct{ fsys fs.FS }

// str returns the file's contents; ok is false when it does not exist.
func (r reader) str(name string) (string, bool, error) {
	b, err := fs.ReadFile(r.fsys, name)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("topology: %w", err)
	}
	return string(b), true, nil
}

func (r reader) int(name string) (int, bool, error) {
	s, ok, err := r.str(name)
	if !ok || err != nil {
		return 0, ok, err
	}
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, false, fmt.Errorf("topology: %s: bad integer %q", name, strings.TrimSpace(s))
	}
	return v, true, nil
}

func (r reader) intDefault(name string, def int) (int, error) {
	v, ok, err := r.int(name)
	if !ok {
		return def, err
	}
	return v, err
}

func (r reader) cpuListOpt(name string) (CPUSet, bool, error) {
	s, ok, err := r.str(name)
	if !ok || err != nil {
		return nil, ok, err
	}
	set, err := ParseCPUList(s)
	if err != nil {
		return nil, false, fmt.Errorf("topology: %s: %w", name, err)
	}
	return set, true, nil
}

func (r reader) cpuList(name string) (CPUSet, error) {
	s, _, err := r.cpuListOpt(name)
	return s, err
}

// onlineSet returns the IDs listed in dir/online, or else the IDs of the
// dir/<prefix>N subdirectories.
func (r reader) onlineSet(dir, prefix string) (CPUSet, error) {
	if s, ok, err := r.cpuListOpt(path.Join(dir, "online")); err != nil || ok {
		return s, err
	}
	ents, err := fs.ReadDir(r.fsys, dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("topology: %w", err)
	}
	var ids []int
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok || rest == "" {
			continue
		}
		v, err := parseCPUNum(rest)
		if err != nil {
			continue
		}
		// A CPU whose "online" file holds 0 is offline.
		if on, ok, _ := r.str(path.Join(dir, e.Name(), "online")); ok && strings.TrimSpace(on) == "0" {
			continue
		}
		ids = append(ids, v)
	}
	return NewCPUSet(ids...), nil
}

// ParseSize parses a sysfs cache size such as "48K", "2048K", "32M" or a
// plain byte count, returning bytes. Suffixes K, M, G are powers of 1024.
func ParseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "K"):
		mult, s = 1<<10, s[:len(s)-1]
	case strings.HasSuffix(s, "M"):
		mult, s = 1<<20, s[:len(s)-1]
	case strings.HasSuffix(s, "G"):
		mult, s = 1<<30, s[:len(s)-1]
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 || v > (1<<62)/mult {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return v * mult, nil
}

// ParseMemTotal extracts MemTotal, in bytes, from a node meminfo file
// ("Node 0 MemTotal:  4155596 kB").
func ParseMemTotal(meminfo string) (uint64, error) {
	for _, line := range strings.Split(meminfo, "\n") {
		_, after, ok := strings.Cut(line, "MemTotal:")
		if !ok {
			continue
		}
		f := strings.Fields(after)
		if len(f) == 0 {
			return 0, fmt.Errorf("empty MemTotal")
		}
		v, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil || v > 1<<53 {
			return 0, fmt.Errorf("bad MemTotal %q", f[0])
		}
		if len(f) > 1 && strings.EqualFold(f[1], "kB") {
			v *= 1024
		}
		return v, nil
	}
	return 0, nil
}
