// Package topology detects the hardware layout of the machine a gorun rank
// runs on: packages (sockets), NUMA nodes with their CPUs and memory, cores
// and their SMT siblings, caches and which CPUs share them, and the ISA
// features of the processor.
//
// On Linux, detection reads sysfs (/sys/devices/system/cpu and
// /sys/devices/system/node) through an [io/fs.FS], so that tests can replay
// fixture trees taken from other machines, and ISA details from
// github.com/klauspost/cpuid/v2. The result is a [Topology] value that is
// built once and never modified afterwards: [Host] detects the running
// machine on first use and hands every caller the same value; [DetectFS]
// builds a new value from any file system.
//
// Other systems have no sysfs. On macOS and FreeBSD, [Detect] builds the
// topology from the counts their sysctl reports (logical and physical
// CPUs, packages, memory, and on macOS cache sizes and sharing), numbering
// CPUs 0..n-1 with SMT siblings adjacent, one NUMA node and every CPU
// allowed; elsewhere it knows only runtime.NumCPU. Such a topology is good
// for sizing (how many workers, how large a block) but not for binding,
// which package kernels/affinity offers on Linux only.
//
// The process's allowed CPU set (as restricted by taskset, cgroup cpusets or
// a launcher) is recorded in the topology: every CPU carries an Allowed flag
// and [Topology.Allowed] returns the set. Binding plans (package
// kernels/affinity) only hand out allowed CPUs.
//
// Concurrency: a *Topology and everything reachable from it are read-only
// after construction; any number of goroutines may read them concurrently.
// Callers must not modify the slices it exposes. [CPUSet] values are
// immutable by convention in the same way: every operation returns a new set.
package topology
