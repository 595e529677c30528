package affinity_test

import (
	"fmt"

	"github.com/gorun-hpc/gorun/kernels/affinity"
	"github.com/gorun-hpc/gorun/kernels/topology/topotest"
)

func ExamplePlan() {
	// A two-socket server with SMT (see ../topology/testdata).
	topo, err := topotest.Load("../topology/testdata/server2s.sysfs", nil)
	if err != nil {
		panic(err)
	}
	sets, err := affinity.Plan(topo, 4, "numa", "core")
	if err != nil {
		panic(err)
	}
	for rank, s := range sets {
		fmt.Println(rank, s, affinity.Environ(s, topo.NUMANodeOf(s)))
	}
	_, err = affinity.Plan(topo, 3, "slot", "numa")
	fmt.Println(err != nil)
	// Output:
	// 0 0,16 [GORUN_CPUSET=0,16 GORUN_NUMA_NODE=0]
	// 1 8,24 [GORUN_CPUSET=8,24 GORUN_NUMA_NODE=1]
	// 2 1,17 [GORUN_CPUSET=1,17 GORUN_NUMA_NODE=0]
	// 3 9,25 [GORUN_CPUSET=9,25 GORUN_NUMA_NODE=1]
	// true
}
