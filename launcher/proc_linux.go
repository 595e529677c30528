package launcher

import (
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// rankProcAttr is how a rank is started: leading its own process group,
// and killed by the kernel when the agent's starting thread dies
// (PR_SET_PDEATHSIG), on top of the keeper.
func rankProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// becomeSubreaper makes orphans of the ranks (a script's background jobs)
// this process's children, not init's: reapGroups reaps them, so that a
// group of zombies is seen as empty even where init does not reap.
func becomeSubreaper() { unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) }

// linkSocketpair makes the agent link's two ends, close-on-exec.
func linkSocketpair() ([2]int, error) {
	return syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
}

// waitExited returns once process pid (a child) has exited, leaving it a
// zombie for cmd.Wait to reap: a thread blocked in waitid(WNOWAIT).
func waitExited(pid int) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			return
		}
	}
}
