package shm

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// pin binds the calling goroutine's thread to cpu (best effort).
func pin(cpu int) {
	runtime.LockOSThread()
	var set unix.CPUSet
	set.Set(cpu)
	unix.SchedSetaffinity(0, &set)
}
