package topology

// sysCounts reads macOS's hw.* sysctls: hw.logicalcpu, hw.physicalcpu,
// hw.packages, hw.memsize, the cache sizes hw.l1dcachesize,
// hw.l1icachesize, hw.l2cachesize and hw.l3cachesize with hw.cachelinesize,
// and how many CPUs share each cache level from hw.cacheconfig. On Apple
// silicon, whose performance and efficiency clusters have different L2
// caches (hw.perflevelN.*), these are the values the machine reports for
// hw.* as a whole; the core kinds are not told apart.
func sysCounts() counts {
	c := counts{
		logical:  int(sysctlInt("hw.logicalcpu")),
		physical: int(sysctlInt("hw.physicalcpu")),
		packages: int(sysctlInt("hw.packages")),
		memory:   uint64(max(sysctlInt("hw.memsize"), 0)),
		source:   "sysctl hw",
	}
	line := int(sysctlInt("hw.cachelinesize"))
	share := sysctlInts("hw.cacheconfig") // [memory, L1, L2, L3, …]
	shared := func(level int) int {
		if level < len(share) {
			return int(share[level])
		}
		return 0
	}
	for _, cc := range []cacheCount{
		{level: 1, typ: "Data", size: sysctlInt("hw.l1dcachesize")},
		{level: 1, typ: "Instruction", size: sysctlInt("hw.l1icachesize")},
		{level: 2, typ: "Unified", size: sysctlInt("hw.l2cachesize")},
		{level: 3, typ: "Unified", size: sysctlInt("hw.l3cachesize")},
	} {
		cc.line, cc.shared = line, shared(cc.level)
		c.caches = append(c.caches, cc)
	}
	return c
}
