//go:build !linux && !darwin && !freebsd

package topology

import "runtime"

// Detect describes the running machine with runtime.NumCPU logical CPUs,
// one core each, one package and one NUMA node, no caches and an unknown
// memory size: this operating system offers nothing this package reads.
// Its ISA comes from the CPUID instruction. The error is always nil.
func Detect() (*Topology, error) {
	isa := DetectISA()
	return fromCounts(counts{logical: runtime.NumCPU(), source: "runtime.NumCPU"}, &isa), nil
}
