package affinity

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/gorun-hpc/gorun/kernels/topology"
)

// Environment variables through which a launcher tells a rank its binding.
const (
	EnvCPUSet   = "GORUN_CPUSET"    // list format, e.g. "0-3"; absent or empty: unbound
	EnvNUMANode = "GORUN_NUMA_NODE" // decimal node ID; absent: unknown
)

// ToUnix converts s to the kernel's bit mask type. It fails if a CPU is
// beyond the capacity of unix.CPUSet (1024 CPUs).
func ToUnix(s CPUSet) (*unix.CPUSet, error) {
	var u unix.CPUSet
	for _, c := range s {
		if c < 0 || c >= len(u)*64 {
			return nil, fmt.Errorf("affinity: CPU %d beyond the %d CPUs a unix.CPUSet holds", c, len(u)*64)
		}
		u.Set(c)
	}
	return &u, nil
}

// FromUnix converts a kernel bit mask to a CPUSet.
func FromUnix(u *unix.CPUSet) CPUSet {
	var cpus []int
	for c := 0; c < len(u)*64; c++ {
		if u.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	return topology.NewCPUSet(cpus...)
}

// Current returns the CPU affinity of the calling OS thread. Goroutines move
// between threads, so call it under runtime.LockOSThread when the answer
// must describe a particular thread; for a process bound with [Apply] every
// thread has the same set.
func Current() (CPUSet, error) {
	var u unix.CPUSet
	if err := unix.SchedGetaffinity(0, &u); err != nil {
		return nil, fmt.Errorf("affinity: sched_getaffinity: %w", err)
	}
	return FromUnix(&u), nil
}

// ThreadAffinity returns the affinity of thread (task) tid of this process.
func ThreadAffinity(tid int) (CPUSet, error) {
	var u unix.CPUSet
	if err := unix.SchedGetaffinity(tid, &u); err != nil {
		return nil, fmt.Errorf("affinity: sched_getaffinity(%d): %w", tid, err)
	}
	return FromUnix(&u), nil
}

// ApplyThread binds the calling OS thread to set. The caller should hold
// runtime.LockOSThread, or the goroutine may later run on another thread
// (and the bound thread may run other goroutines). An empty set is a no-op.
func ApplyThread(set CPUSet) error {
	if set.IsEmpty() {
		return nil
	}
	mask, err := ToUnix(set)
	if err != nil {
		return err
	}
	if err := unix.SchedSetaffinity(0, mask); err != nil {
		return fmt.Errorf("affinity: bind thread to %s: %w", set, err)
	}
	return nil
}

// Apply binds every thread of the current process to set; see [ApplyPID].
func Apply(set CPUSet) error { return ApplyPID(os.Getpid(), set) }

// ApplyPID binds every thread of process pid to set by setting the affinity
// of each task listed in /proc/pid/task. Threads created afterwards inherit
// the affinity of their creator; because a thread may be created while the
// tasks are being walked, the walk repeats until one pass finds every thread
// already bound. An empty set is a no-op (unbound).
//
// The launcher may call it on a freshly started rank; a rank may call it on
// itself (via [Apply] or [ApplyFromEnv]) early in main.
func ApplyPID(pid int, set CPUSet) error {
	if set.IsEmpty() {
		return nil
	}
	mask, err := ToUnix(set)
	if err != nil {
		return err
	}
	dir := fmt.Sprintf("/proc/%d/task", pid)
	for pass := 0; pass < 10; pass++ {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("affinity: %w", err)
		}
		changed := false
		for _, e := range ents {
			tid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			var cur unix.CPUSet
			if err := unix.SchedGetaffinity(tid, &cur); err != nil {
				if errors.Is(err, unix.ESRCH) {
					continue // thread exited
				}
				return fmt.Errorf("affinity: sched_getaffinity(%d): %w", tid, err)
			}
			if cur == *mask {
				continue
			}
			changed = true
			if err := unix.SchedSetaffinity(tid, mask); err != nil && !errors.Is(err, unix.ESRCH) {
				return fmt.Errorf("affinity: bind task %d to %s: %w", tid, set, err)
			}
		}
		if !changed {
			return nil
		}
	}
	return fmt.Errorf("affinity: threads of %d kept appearing while binding to %s", pid, set)
}

// Binding is what a launcher told a rank about its placement.
type Binding struct {
	CPUs     CPUSet // empty: unbound
	NUMANode int    // -1: unknown or several nodes
}

// Environ returns the environment entries ("KEY=value") that describe a
// rank bound to set on NUMA node node (-1: unknown), for a launcher to add
// to the rank's environment.
func Environ(set CPUSet, node int) []string {
	env := []string{EnvCPUSet + "=" + set.String()}
	if node >= 0 {
		env = append(env, EnvNUMANode+"="+strconv.Itoa(node))
	}
	return env
}

// FromEnv reads GORUN_CPUSET and GORUN_NUMA_NODE. ok is false when neither
// is set (the program was not started by a binding launcher).
func FromEnv() (b Binding, ok bool, err error) {
	return fromLookup(os.LookupEnv)
}

func fromLookup(lookup func(string) (string, bool)) (Binding, bool, error) {
	b := Binding{NUMANode: -1}
	cs, ok1 := lookup(EnvCPUSet)
	if ok1 {
		set, err := ParseCPUList(cs)
		if err != nil {
			return b, true, fmt.Errorf("affinity: %s: %w", EnvCPUSet, err)
		}
		b.CPUs = set
	}
	ns, ok2 := lookup(EnvNUMANode)
	if ok2 && strings.TrimSpace(ns) != "" {
		n, err := strconv.Atoi(strings.TrimSpace(ns))
		if err != nil || n < 0 {
			return b, true, fmt.Errorf("affinity: %s: bad node %q", EnvNUMANode, ns)
		}
		b.NUMANode = n
	}
	return b, ok1 || ok2, nil
}

// ApplyFromEnv binds the whole process to GORUN_CPUSET when it is set and
// non-empty, and returns the binding read from the environment.
func ApplyFromEnv() (Binding, error) {
	b, ok, err := FromEnv()
	if err != nil || !ok {
		return b, err
	}
	return b, Apply(b.CPUs)
}

// Self returns this rank's binding: the launcher's GORUN_CPUSET and
// GORUN_NUMA_NODE when set, and otherwise (or for whichever is missing) the
// calling thread's affinity and the NUMA node of t that contains all of it
// (-1 if none does or t is nil).
func Self(t *topology.Topology) (Binding, error) {
	b, _, err := FromEnv()
	if err != nil {
		return b, err
	}
	if b.CPUs.IsEmpty() {
		if b.CPUs, err = Current(); err != nil {
			return b, err
		}
	}
	if b.NUMANode < 0 && t != nil {
		b.NUMANode = t.NUMANodeOf(b.CPUs)
	}
	return b, nil
}
