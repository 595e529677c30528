// Package affinity computes and applies CPU bindings for gorun ranks, with
// the meaning of Open MPI's --map-by and --bind-to options.
//
// The launcher calls [Plan] with the machine's topology, the number of ranks
// on that machine and the two option strings; it gets one [CPUSet] per rank,
// pairwise disjoint (or all empty for --bind-to none). It then either
// passes each rank its set through the environment ([Environ]: GORUN_CPUSET
// and GORUN_NUMA_NODE) for the rank to apply with [ApplyFromEnv], or binds
// the started process itself with [ApplyPID].
//
// A rank learns its binding with [FromEnv] (what the launcher intended),
// [Current] (what the OS enforces for the calling thread), or [Self], which
// prefers the environment and fills in the rest from the OS and topology.
//
// Binding units (--bind-to):
//
//	core     the allowed CPUs of one physical core (all its SMT siblings)
//	hwthread one CPU
//	l3       the allowed CPUs sharing one last-level cache
//	numa     the allowed CPUs of one NUMA node
//	package  the allowed CPUs of one package (socket)
//	none     no binding: every rank gets the empty set
//
// Each rank gets one whole unit, and units are never shared, so a plan
// needs at least as many units (with an allowed CPU) as ranks; otherwise
// Plan fails with an error that says how many there are. The empty string
// selects the default: core when the ranks fit on the allowed cores, none
// when they would oversubscribe them.
//
// Mapping (--map-by) decides the order in which units are handed to ranks:
//
//	slot, core  in CPU order: rank 0 gets the first unit, rank 1 the next …
//	numa        round-robin over NUMA nodes: rank 0 on node 0, rank 1 on node 1, …
//	package     round-robin over packages
//
// The empty string means slot.
//
// Concurrency: all functions may be called from any goroutine. [Plan],
// [ParseCPUList] and [Environ] are pure. [ApplyPID] and [Apply] change the
// affinity of every thread of a process; [ApplyThread] only that of the
// calling OS thread, so its caller should hold runtime.LockOSThread.
package affinity
