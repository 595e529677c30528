//go:build !linux

package affinity_test

import (
	"errors"
	"testing"

	"github.com/gorun-hpc/gorun/kernels/affinity"
)

// TestUnsupported checks that, without affinity calls, reading or setting a
// binding fails with ErrUnsupported and that unbound is a no-op.
func TestUnsupported(t *testing.T) {
	if affinity.Supported {
		t.Fatal("Supported is true on a system without affinity calls")
	}
	if _, err := affinity.Current(); !errors.Is(err, affinity.ErrUnsupported) || !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Current: %v; want ErrUnsupported", err)
	}
	if err := affinity.Apply(affinity.CPUSet{0}); !errors.Is(err, affinity.ErrUnsupported) {
		t.Errorf("Apply: %v; want ErrUnsupported", err)
	}
	if err := affinity.ApplyThread(affinity.CPUSet{0}); !errors.Is(err, affinity.ErrUnsupported) {
		t.Errorf("ApplyThread: %v; want ErrUnsupported", err)
	}
	if err := affinity.Apply(nil); err != nil {
		t.Errorf("Apply(nil): %v; want nil", err)
	}
}
