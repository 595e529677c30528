//go:build !linux

package affinity

import "fmt"

// Supported reports whether this package can read and set CPU affinity on
// this system: false here (macOS has no affinity call that binds, and this
// package does not use FreeBSD's cpuset), so [Current], [ThreadAffinity],
// [ApplyThread] and [ApplyPID] with a non-empty set fail with
// [ErrUnsupported]. [Plan] still works on any topology.
const Supported = false

// Current would return the calling thread's CPU affinity; here it fails
// with [ErrUnsupported].
func Current() (CPUSet, error) { return nil, ErrUnsupported }

// ThreadAffinity would return the affinity of thread tid; here it fails
// with [ErrUnsupported].
func ThreadAffinity(tid int) (CPUSet, error) {
	return nil, fmt.Errorf("thread %d: %w", tid, ErrUnsupported)
}

// ApplyThread would bind the calling OS thread to set. An empty set is a
// no-op; any other fails with [ErrUnsupported].
func ApplyThread(set CPUSet) error {
	if set.IsEmpty() {
		return nil
	}
	return fmt.Errorf("bind thread to %s: %w", set, ErrUnsupported)
}

// ApplyPID would bind every thread of process pid to set. An empty set is
// a no-op (unbound); any other fails with [ErrUnsupported].
func ApplyPID(pid int, set CPUSet) error {
	if set.IsEmpty() {
		return nil
	}
	return fmt.Errorf("bind process %d to %s: %w", pid, set, ErrUnsupported)
}
