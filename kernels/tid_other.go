//go:build !linux

package kernels

// gettid returns 0: thread IDs are only recorded on Linux, for its tests.
func gettid() int { return 0 }
