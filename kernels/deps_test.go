package kernels

import (
	"os/exec"
	"strings"
	"testing"
)

// TestStandsAlone checks that the kernels tree imports nothing from the rest
// of gorun (only its own subpackages).
func TestStandsAlone(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	out, err := exec.Command(gobin, "list", "-deps", "github.com/gorun-hpc/gorun/kernels/...").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "github.com/gorun-hpc/gorun/") && !strings.HasPrefix(pkg, "github.com/gorun-hpc/gorun/kernels") {
			t.Errorf("kernels depends on %s", pkg)
		}
	}
}
