package launcher

import (
	"golang.org/x/sys/unix"

	"github.com/gorun-hpc/gorun/kernels/affinity"
)

// bindThread sets the calling (locked) thread's affinity to the CPU list,
// so that a process it forks starts bound; unbindThread restores it.
func bindThread(list string) error {
	set, err := affinity.ParseCPUList(list)
	if err != nil {
		return err
	}
	var orig unix.CPUSet
	if err := unix.SchedGetaffinity(0, &orig); err != nil {
		return err
	}
	savedAffinity = orig
	return affinity.ApplyThread(set)
}

// savedAffinity is only touched by the agent's single locked start thread.
var savedAffinity unix.CPUSet

func unbindThread() { unix.SchedSetaffinity(0, &savedAffinity) }
