//go:build !linux

package shm

import (
	"errors"
	"fmt"
	"os"
	"runtime"
)

// pin only locks the goroutine to its thread: there is no binding here.
func pin(int) { runtime.LockOSThread() }

func init() {
	unsupportedMain = func() int {
		_, err := Create(Options{})
		if !errors.Is(err, ErrUnsupported) {
			fmt.Fprintf(os.Stderr, "Create on %s: %v; want ErrUnsupported\n", runtime.GOOS, err)
			return 1
		}
		fmt.Printf("shm: %v; the other tests need Linux\n", err)
		return 0
	}
}
