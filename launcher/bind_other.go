//go:build !linux

package launcher

import "github.com/gorun-hpc/gorun/kernels/affinity"

// bindThread fails: CPU binding needs Linux. planBindings plans no CPU sets
// here, so a rank never asks for one.
func bindThread(string) error { return affinity.ErrUnsupported }

func unbindThread() {}
