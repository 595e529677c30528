//go:build !linux

package launcher

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// rankProcAttr is how a rank is started: leading its own process group.
// There is no parent-death signal outside Linux; the keeper alone kills
// the ranks' groups when the agent dies, SIGKILL included (it sees its
// pipe from the agent reach end of file).
func rankProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// becomeSubreaper does nothing: outside Linux, orphans of the ranks go to
// init (launchd on macOS), which reaps them, so reapGroups sees an empty
// group once they have exited.
func becomeSubreaper() {}

// linkSocketpair makes the agent link's two ends, close-on-exec. Without
// SOCK_CLOEXEC the descriptors are marked under syscall.ForkLock, so that
// no process forked meanwhile inherits them.
func linkSocketpair() ([2]int, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		return fds, err
	}
	syscall.CloseOnExec(fds[0])
	syscall.CloseOnExec(fds[1])
	return fds, nil
}

// waitExited returns once process pid (a child) has exited, leaving it a
// zombie for cmd.Wait to reap: a kqueue EVFILT_PROC NOTE_EXIT event, which
// macOS and the BSDs deliver without reaping (waitid's WNOWAIT is Linux's).
// Should kqueue fail (no descriptor left), it returns at once: cmd.Wait
// then waits for the exit itself, and the exit is stamped a little early.
func waitExited(pid int) {
	kq, err := unix.Kqueue()
	if err != nil {
		return
	}
	defer unix.Close(kq)
	var ev [1]unix.Kevent_t
	unix.SetKevent(&ev[0], pid, unix.EVFILT_PROC, unix.EV_ADD|unix.EV_ONESHOT)
	ev[0].Fflags = unix.NOTE_EXIT
	for {
		var out [1]unix.Kevent_t
		n, err := unix.Kevent(kq, ev[:], out[:], nil)
		if err == unix.EINTR {
			continue
		}
		// Done: the exit event; or ESRCH, returned or reported as an
		// EV_ERROR event, for a process that has already exited; or
		// any other failure, as above.
		if err != nil || n > 0 {
			return
		}
	}
}
