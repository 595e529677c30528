package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/examples/internal/gorunexec"
)

// Class S under a real gorun at several rank counts: NPB's verdict line and
// the exit status.
func TestUnderGorun(t *testing.T) {
	l := gorunexec.Build(t)
	for _, np := range []int{1, 2, 4} {
		t.Run(fmt.Sprint("np=", np), func(t *testing.T) {
			out, code := l.Run(t, 120*time.Second, np, "-class", "S")
			if code != 0 {
				t.Fatalf("exit %d:\n%s", code, out)
			}
			gorunexec.MustContain(t, out, "VERIFICATION SUCCESSFUL")
		})
	}
}
