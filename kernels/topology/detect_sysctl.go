//go:build darwin || freebsd

package topology

import (
	"encoding/binary"
	"runtime"

	"golang.org/x/sys/unix"
)

// Detect describes the running machine from what its sysctl reports (see
// sysCounts for the names read) and its ISA from the CPUID instruction (or
// the OS's feature flags on arm64). There is no sysfs: CPUs are numbered
// 0..n-1, one NUMA node holds them all, and every CPU is allowed, because
// the OS offers no affinity to read (macOS) or none this package reads
// (FreeBSD's cpuset). A missing sysctl falls back to runtime.NumCPU and
// unknown values. Each call detects afresh; see [Host] for the cached
// value. The error is always nil.
func Detect() (*Topology, error) {
	c := sysCounts()
	if c.logical < 1 {
		c.logical = runtime.NumCPU()
	}
	isa := DetectISA()
	return fromCounts(c, &isa), nil
}

// sysctlInt reads an integer sysctl of 4 or 8 bytes; 0 when it is missing.
func sysctlInt(name string) int64 {
	b, err := unix.SysctlRaw(name)
	if err != nil {
		return 0
	}
	switch len(b) {
	case 4:
		return int64(int32(binary.NativeEndian.Uint32(b)))
	case 8:
		return int64(binary.NativeEndian.Uint64(b))
	}
	return 0
}

// sysctlInts reads a sysctl that is an array of 8-byte integers; nil when
// it is missing.
func sysctlInts(name string) []int64 {
	b, err := unix.SysctlRaw(name)
	if err != nil {
		return nil
	}
	var r []int64
	for ; len(b) >= 8; b = b[8:] {
		r = append(r, int64(binary.NativeEndian.Uint64(b)))
	}
	return r
}
