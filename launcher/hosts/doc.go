// Package hosts parses the host descriptions an MPI user hands to a
// launcher and decides where each rank runs. It follows the behaviour of
// Open MPI's mpirun and also accepts MPICH's syntax, so that users coming
// from either launcher find what they expect.
//
// # Hostfiles
//
// [ParseHostfile] reads an Open MPI style hostfile, one host per line:
//
//	# comment to end of line
//	node01 slots=4 max_slots=8
//	node02 slots=4            # max-slots, slots_max and slots-max also work
//	node03                    # no slots: counts as one slot
//	node04:2                  # MPICH style: two slots
//	node01 slots=2            # repeated host: slots accumulate (node01 has 6)
//
// Keys are "slots" (synonyms "slot", "count", "cpu"), and "max_slots"
// (synonyms "max-slots", "slots_max", "slots-max"); spaces around "=" are
// allowed. Unknown keys are errors. As in Open MPI, "slots=0" is accepted:
// such a host is part of the allocation but never receives a rank; a
// negative value is an error. Every error names the file and the line, for
// example:
//
//	hostfile h.txt:3: bad slots value "x"
//
// A host appearing on several lines accumulates its slots; each line
// without a slot count adds one slot (Open MPI semantics). A max_slots
// limit applies to the accumulated count.
//
// # Host lists
//
// [ParseHostList] parses the argument of mpirun's -H/--host option:
//
//	host1:4,host2:4,host1      → host1 has 5 slots, host2 has 4
//
// A host without ":N" counts one slot and repeated hosts add up. Empty
// entries ("a,,b") are errors.
//
// In hostfiles and host lists, IPv6 literals can be written bare (fe80::1,
// which then cannot carry a ":N" count) or in brackets, with or without a
// count: [fe80::1]:4.
//
// # Slurm
//
// [ExpandNodelist] expands Slurm hostlist expressions:
//
//	node[01-04,07],gpu3  → node01 node02 node03 node04 node07 gpu3
//	n[1-3]-ib            → n1-ib n2-ib n3-ib
//	rack[1-2]n[01-02]    → rack1n01 rack1n02 rack2n01 rack2n02
//
// Zero padding follows the width of the lower bound of each range. Several
// bracket groups in one name give their cartesian product, the leftmost
// group varying slowest (as Slurm does). The expansion is capped at
// [MaxNames] names: larger requests return an error without allocating.
//
// [ExpandTasksPerNode] expands SLURM_TASKS_PER_NODE ("2(x3),1" → 2 2 2 1)
// and [FromSlurmEnv] combines SLURM_JOB_NODELIST (or SLURM_NODELIST) with
// SLURM_TASKS_PER_NODE into hosts whose slot counts are the task counts.
//
// # Placement
//
// [Map] assigns np ranks to hosts like mpirun's --map-by:
//
//   - "slot" (the default): fill each host's slots in order, so ranks
//     0..3 go to a 4-slot first host, the next ranks to the second host…
//   - "node": round robin, one rank per host per pass, skipping hosts
//     whose slots are full.
//
// If np exceeds [TotalSlots] the call fails with an mpirun-like message
// unless MapOptions.Oversubscribe is set; then the extra ranks are spread
// evenly over the hosts that have at least one slot, never beyond a host's
// MaxSlots. Hosts with zero slots never receive ranks. Ranks placed on one
// host get consecutive local ranks 0..LocalSize-1 in global rank order. np
// is capped at [MaxRanks]. A launcher that was not given -np should default
// np to [TotalSlots], as mpirun does.
//
// All functions are pure and safe for concurrent use.
package hosts
