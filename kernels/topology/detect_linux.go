package topology

import (
	"os"

	"golang.org/x/sys/unix"
)

// Detect reads the running machine's topology from [SysfsRoot], its allowed
// CPU set from the scheduler affinity of the calling thread, and its ISA from
// the CPUID instruction. Each call detects afresh; see [Host] for the cached
// value.
func Detect() (*Topology, error) {
	var opt Options
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err == nil {
		for c := 0; c < len(set)*64; c++ {
			if set.IsSet(c) {
				opt.Allowed = append(opt.Allowed, c)
			}
		}
	}
	isa := DetectISA()
	opt.ISA = &isa
	opt.Source = SysfsRoot
	t, err := DetectFS(os.DirFS(SysfsRoot), opt)
	if err != nil {
		return nil, err
	}
	// The nodes' meminfo can miss memory (hot-plugged memory in a virtual
	// machine is often attributed to no node); the machine's total is in
	// /proc/meminfo.
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if m, err := ParseMemTotal(string(b)); err == nil {
			t.TotalMemory = m
		}
	}
	return t, nil
}
