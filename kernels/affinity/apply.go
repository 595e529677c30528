package affinity

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/gorun-hpc/gorun/kernels/topology"
)

// ErrUnsupported is returned, wrapped, by [Current], [ThreadAffinity],
// [ApplyThread] and [ApplyPID] (and so [Apply], [ApplyFromEnv] and [Self])
// on systems where this package cannot read or set CPU affinity: every
// system but Linux (see [Supported]). It wraps [errors.ErrUnsupported].
var ErrUnsupported = fmt.Errorf("affinity: CPU binding is not supported on %s: %w", runtime.GOOS, errors.ErrUnsupported)

// Environment variables through which a launcher tells a rank its binding.
const (
	EnvCPUSet   = "GORUN_CPUSET"    // list format, e.g. "0-3"; absent or empty: unbound
	EnvNUMANode = "GORUN_NUMA_NODE" // decimal node ID; absent: unknown
)

// Apply binds every thread of the current process to set; see [ApplyPID].
func Apply(set CPUSet) error { return ApplyPID(os.Getpid(), set) }

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
