package hosts

import (
	"errors"
	"fmt"
	"os"

	"github.com/gorun-hpc/gorun/comm/hostlist"
)

// MaxNames caps the number of names [ExpandNodelist] produces and the
// number of counts [ExpandTasksPerNode] produces, so that an absurd
// expression such as "n[0-999999999]" fails quickly instead of exhausting
// memory.
const MaxNames = hostlist.MaxNames

// ExpandNodelist expands a Slurm host list such as "node[01-04,07],gpu3"
// (see package comm/hostlist, which implements it for the launcher and for
// ranks started by srun).
func ExpandNodelist(s string) ([]string, error) { return hostlist.ExpandNodelist(s) }

// ExpandTasksPerNode expands a SLURM_TASKS_PER_NODE value such as
// "2(x3),1" into one count per node: [2 2 2 1].
func ExpandTasksPerNode(s string) ([]int, error) { return hostlist.ExpandTasksPerNode(s) }

// FromSlurmEnv builds the host list of the current Slurm allocation from
// SLURM_JOB_NODELIST (or, if unset, SLURM_NODELIST) and
// SLURM_TASKS_PER_NODE, read through getenv (os.Getenv if nil). Each
// node's slots are its task count; a node listed twice accumulates. It
// fails if the variables are missing, malformed, or describe different
// numbers of nodes.
func FromSlurmEnv(getenv func(string) string) ([]Host, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	nlVar := "SLURM_JOB_NODELIST"
	nl := getenv(nlVar)
	if nl == "" {
		nlVar = "SLURM_NODELIST"
		nl = getenv(nlVar)
	}
	if nl == "" {
		return nil, errors.New("slurm: SLURM_JOB_NODELIST and SLURM_NODELIST are unset; not inside a Slurm allocation?")
	}
	tpn := getenv("SLURM_TASKS_PER_NODE")
	if tpn == "" {
		return nil, errors.New("slurm: SLURM_TASKS_PER_NODE is unset")
	}
	names, err := ExpandNodelist(nl)
	if err != nil {
		return nil, fmt.Errorf("slurm: %s: %v", nlVar, err)
	}
	counts, err := ExpandTasksPerNode(tpn)
	if err != nil {
		return nil, fmt.Errorf("slurm: SLURM_TASKS_PER_NODE: %v", err)
	}
	if len(names) != len(counts) {
		return nil, fmt.Errorf("slurm: %s=%q lists %d nodes but SLURM_TASKS_PER_NODE=%q gives counts for %d",
			nlVar, clip(nl), len(names), clip(tpn), len(counts))
	}
	var set hostSet
	for i, n := range names {
		if err := set.add(n, counts[i], 0); err != nil {
			return nil, fmt.Errorf("slurm: %v", err)
		}
	}
	return set.list, nil
}
