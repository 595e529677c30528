package main

import (
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/examples/internal/gorunexec"
)

// Class S under a real gorun at several rank counts: NPB's verdict line and
// the exit status.
func TestUnderGorun(t *testing.T) {
	gorunexec.VerifyUnderGorun(t, []int{1, 2, 4}, 120*time.Second, "VERIFICATION SUCCESSFUL", "-class", "S")
}
