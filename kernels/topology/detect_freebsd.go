package topology

// sysCounts reads FreeBSD's hw.ncpu, kern.smp.cores and hw.physmem. FreeBSD tells cache sizes only
// through CPUID or the XML of kern.sched.topology_spec, which this package
// does not parse, so the topology has no caches.
func sysCounts() counts {
	c := counts{
		logical:  int(sysctlInt("hw.ncpu")),
		physical: int(sysctlInt("kern.smp.cores")),
		memory:   uint64(max(sysctlInt("hw.physmem"), 0)),
		source:   "sysctl hw.ncpu",
	}
	return c
}
