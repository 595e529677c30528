//go:build linux && !gorun_portable

package comm

import (
	"golang.org/x/sys/unix"
)

// schedYield gives this thread's CPU to another runnable process, if any
// (sched_yield(2)). It is a raw system call: the process keeps its P, and
// nothing else of it could run meanwhile on an oversubscribed host anyway.
func schedYield() { unix.RawSyscall(unix.SYS_SCHED_YIELD, 0, 0, 0) }
