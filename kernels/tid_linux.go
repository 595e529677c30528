package kernels

import "golang.org/x/sys/unix"

// gettid returns the calling thread's ID (tests check that each worker
// keeps its own thread).
func gettid() int { return unix.Gettid() }
