// Package affinity computes and applies CPU bindings for gorun ranks, with
// the meaning of Open MPI's --map-by and --bind-to options.
//
// The launcher calls [Plan] with the machine's topology, the number of ranks
// on that machine and the two option strings; it gets one [CPUSet] per rank,
// pairwise disjoint (or all empty for --bind-to none, or shared by
// consecutive ranks for core:overload-allowed). It then either
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
//	core:overload-allowed
//	         core, but more ranks than cores are allowed: rank i of n gets
//	         core i*cores/n, so consecutive ranks share a core
//	hwthread one CPU
//	l3       the allowed CPUs sharing one last-level cache
//	numa     the allowed CPUs of one NUMA node
//	package  the allowed CPUs of one package (socket)
//	none     no binding: every rank gets the empty set
//
// Each rank gets one whole unit, and units are not shared (except with
// core:overload-allowed), so a plan needs at least as many units (with an
// allowed CPU) as ranks; otherwise Plan fails with an error that says how
// many there are. The empty string selects the default: core when the
// ranks fit on the allowed cores, core:overload-allowed when they
// outnumber the cores by a whole factor (2 ranks a core, 3, ...), none
// otherwise ([DefaultBindTo] gives the measurements).
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
