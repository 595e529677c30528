package affinity

import (
	"fmt"
	"strings"

	"github.com/gorun-hpc/gorun/kernels/topology"
)

// CPUSet is a sorted set of CPU numbers; see [topology.CPUSet]. Its String
// method gives the Linux list format ("0-3,8").
type CPUSet = topology.CPUSet

// ParseCPUList parses the Linux list format ("0-3,8", "0-7:2"); see
// [topology.ParseCPUList].
func ParseCPUList(s string) (CPUSet, error) { return topology.ParseCPUList(s) }

// Binding and mapping policy names accepted by [Plan].
const (
	BindNone     = "none"
	BindHWThread = "hwthread"
	BindCore     = "core"
	BindL3       = "l3"
	BindNUMA     = "numa"
	BindPackage  = "package"
	// BindCoreOverload binds to cores like BindCore, but lets ranks
	// outnumber the cores (Open MPI's "overload-allowed" qualifier): rank
	// i of n then gets core i*cores/n, so consecutive ranks share a core.
	BindCoreOverload = "core:overload-allowed"

	MapSlot    = "slot"
	MapCore    = "core"
	MapNUMA    = "numa"
	MapPackage = "package"
)

// unit is one candidate binding: a set of allowed CPUs and where it lives.
type unit struct {
	cpus      CPUSet
	node, pkg int
}

// DefaultBindTo returns the binding Plan uses for bindTo == "": core when
// nranks is at most the number of cores with an allowed CPU; when the ranks
// outnumber the cores by a whole factor, core:overload-allowed (each core
// runs the same number of consecutive ranks); none otherwise.
//
// Consecutive ranks sharing a core measured faster than leaving the
// placement to the kernel on a 2-core VM, where most collective algorithms
// exchange first and most between nearby ranks (bench/coll, 5 alternating
// rounds, medians, µs, unbound/blocks): np 4 Allreduce 64 KiB 88.0/72.2,
// Bcast 8 B 4.73/3.08 and 1 MiB 391/303; np 8 Allreduce 64 KiB 187/142,
// 1 MiB 2382/1891, Bcast 1 MiB 970/735, Reduce 64 KiB 95.9/83.0;
// Alltoall and Allgather within 5 %. Ranks shared round robin instead (0
// and 2 on one core) were slower than unbound (np 8 Allreduce 64 KiB 237).
// At np 3 and 5, where the cores would run unequal numbers of ranks,
// blocks lost as often as they won (np 5 Bcast 64 KiB 45.5/55.3, Reduce
// 8 B 6.8/3.4), so those stay unbound.
func DefaultBindTo(t *topology.Topology, nranks int) string {
	cores := len(units(t, BindCore))
	switch {
	case nranks <= cores:
		return BindCore
	case cores > 0 && nranks%cores == 0:
		return BindCoreOverload
	}
	return BindNone
}

// Plan computes the CPU set of each of nranks ranks on the machine described
// by t, following mapBy and bindTo as described in the package
// documentation. Only allowed CPUs of t are used. The result has nranks
// entries; they are pairwise disjoint, or all empty (unbound) for
// bindTo == "none", or, for core:overload-allowed with more ranks than
// cores, whole cores that consecutive ranks share. Plan fails for unknown
// policy names, nranks < 1, or when the machine has fewer units of the
// bindTo kind than ranks (except with core:overload-allowed).
func Plan(t *topology.Topology, nranks int, mapBy, bindTo string) ([]CPUSet, error) {
	if t == nil {
		return nil, fmt.Errorf("affinity: nil topology")
	}
	if nranks < 1 {
		return nil, fmt.Errorf("affinity: %d ranks: need at least one", nranks)
	}
	mapBy = strings.ToLower(strings.TrimSpace(mapBy))
	bindTo = strings.ToLower(strings.TrimSpace(bindTo))
	switch mapBy {
	case "", MapSlot, MapCore, MapNUMA, MapPackage:
	default:
		return nil, fmt.Errorf("affinity: unknown --map-by %q (want slot, core, numa or package)", mapBy)
	}
	if bindTo == "" {
		bindTo = DefaultBindTo(t, nranks)
	}
	if bindTo == BindNone {
		return make([]CPUSet, nranks), nil
	}
	overload := bindTo == BindCoreOverload
	if overload {
		bindTo = BindCore
	}
	us := units(t, bindTo)
	if us == nil {
		switch bindTo {
		case BindHWThread, BindCore, BindL3, BindNUMA, BindPackage:
			return nil, fmt.Errorf("affinity: --bind-to %s: no allowed CPUs", bindTo)
		}
		return nil, fmt.Errorf("affinity: unknown --bind-to %q (want core, core:overload-allowed, hwthread, l3, numa, package or none)", bindTo)
	}
	if nranks > len(us) && !overload {
		return nil, fmt.Errorf("affinity: --bind-to %s needs one %s per rank but %d ranks exceed the %d %s(s) with allowed CPUs (%s); use a finer --bind-to, --bind-to core:overload-allowed or --bind-to none to oversubscribe",
			bindTo, unitName(bindTo), nranks, len(us), unitName(bindTo), t.Allowed())
	}
	switch mapBy {
	case MapNUMA:
		us = roundRobin(us, func(u unit) int { return u.node })
	case MapPackage:
		us = roundRobin(us, func(u unit) int { return u.pkg })
	}
	out := make([]CPUSet, nranks)
	for i := range out {
		if nranks > len(us) {
			out[i] = us[i*len(us)/nranks].cpus
		} else {
			out[i] = us[i].cpus
		}
	}
	return out, nil
}

func unitName(bindTo string) string {
	switch bindTo {
	case BindHWThread:
		return "hardware thread"
	case BindL3:
		return "L3 cache"
	case BindNUMA:
		return "NUMA node"
	}
	return bindTo
}

// units lists the binding units of the given kind that have allowed CPUs,
// in order of their first CPU; nil for an unknown kind or no CPUs.
func units(t *topology.Topology, kind string) []unit {
	allowed := t.Allowed()
	var sets []CPUSet
	switch kind {
	case BindHWThread:
		for _, c := range allowed {
			sets = append(sets, CPUSet{c})
		}
	case BindCore:
		for _, c := range t.Cores {
			sets = append(sets, c.CPUs)
		}
	case BindL3:
		llc := t.LastLevelCaches()
		if len(llc) == 0 {
			// No cache information: fall back to packages.
			for _, p := range t.Packages {
				sets = append(sets, p.CPUs)
			}
		}
		for _, c := range llc {
			sets = append(sets, c.CPUs)
		}
	case BindNUMA:
		for _, n := range t.NUMANodes {
			sets = append(sets, n.CPUs)
		}
	case BindPackage:
		for _, p := range t.Packages {
			sets = append(sets, p.CPUs)
		}
	default:
		return nil
	}
	var us []unit
	for _, s := range sets {
		s = s.Intersect(allowed)
		if s.IsEmpty() {
			continue
		}
		u := unit{cpus: s, node: -1, pkg: -1}
		if c, ok := t.CPU(s.First()); ok {
			u.node, u.pkg = c.NUMANode, c.Package
		}
		us = append(us, u)
	}
	// Order by first CPU (sets are disjoint for every kind above).
	for i := 1; i < len(us); i++ {
		for j := i; j > 0 && us[j].cpus.First() < us[j-1].cpus.First(); j-- {
			us[j], us[j-1] = us[j-1], us[j]
		}
	}
	return us
}

// roundRobin reorders units so that consecutive entries come from
// different groups in turn (group order by first appearance).
func roundRobin(us []unit, group func(unit) int) []unit {
	var order []int
	byGroup := map[int][]unit{}
	for _, u := range us {
		g := group(u)
		if _, ok := byGroup[g]; !ok {
			order = append(order, g)
		}
		byGroup[g] = append(byGroup[g], u)
	}
	out := make([]unit, 0, len(us))
	for len(out) < len(us) {
		for _, g := range order {
			if q := byGroup[g]; len(q) > 0 {
				out = append(out, q[0])
				byGroup[g] = q[1:]
			}
		}
	}
	return out
}
