package affinity

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/gorun-hpc/gorun/kernels/topology"
)

// Supported reports whether this package can read and set CPU affinity on
// this system: true on Linux (sched_getaffinity, sched_setaffinity and
// /proc/PID/task), false elsewhere, where those calls fail with
// [ErrUnsupported].
const Supported = true

// ToUnix converts s to the kernel's bit mask type (Linux only). It fails
// if a CPU is beyond the capacity of unix.CPUSet (1024 CPUs).
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

// FromUnix converts a kernel bit mask to a CPUSet (Linux only).
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
