package collectives

import (
	"context"
	"fmt"
	"weak"

	"github.com/gorun-hpc/gorun/comm"
)

// ReloadEnv makes the package read its GORUN_COLL_* environment variables
// again, for tests that change them.
func ReloadEnv() { loadEnv() }

// ChosenAlgorithm is the algorithm the selector picks for a call of coll
// ("allreduce", "bcast" or "barrier") of bytes on c, as the collective
// would.
func ChosenAlgorithm(ctx context.Context, c *comm.Comm, coll string, bytes int, commutative bool) (string, error) {
	cfg, err := setup(coll, nil)
	if err != nil {
		return "", err
	}
	lay, _, err := hostLayout(ctx, c, cfg)
	if err != nil {
		return "", err
	}
	switch coll {
	case "allreduce":
		return selectAllreduce(cfg, c.Size(), bytes, commutative, lay), nil
	case "bcast":
		return selectBcast(cfg, c.Size(), bytes, lay), nil
	case "barrier":
		return selectBarrier(cfg, c.Size(), lay), nil
	}
	return "", fmt.Errorf("ChosenAlgorithm: %s", coll)
}

// SharedWindowOf reports whether c has the window of the shared
// algorithms (made at its first call that chose one).
func SharedWindowOf(c *comm.Comm) bool {
	nodeMu.Lock()
	defer nodeMu.Unlock()
	_, ok := nodeStates[weak.Make(c)].(*nodeState)
	return ok
}

// SharedSlot is the largest buffer of the shared Bcast and Allreduce.
const SharedSlot = sharedSlot

// SharedSlots is how many such buffers each rank has, used in turn.
const SharedSlots = sharedSlots
