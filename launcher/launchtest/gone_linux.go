package launchtest

import (
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// waitGone waits on a pidfd of each process: it becomes readable when the
// process exits. Kernels before 5.3 have no pidfd_open: there it looks
// every 10 ms instead.
func waitGone(pids []int, deadline time.Time) []int {
	var fds []unix.PollFd
	var open []int // the pids of fds
	defer func() {
		for _, f := range fds {
			unix.Close(int(f.Fd))
		}
	}()
	for _, pid := range pids {
		fd, err := unix.PidfdOpen(pid, 0)
		if err == unix.ENOSYS {
			return lookEvery(pids, deadline)
		}
		if err != nil {
			continue // ESRCH: gone already
		}
		fds = append(fds, unix.PollFd{Fd: int32(fd), Events: unix.POLLIN})
		open = append(open, pid)
	}
	for len(fds) > 0 {
		ms := max(0, time.Until(deadline).Milliseconds())
		n, err := unix.Poll(fds, int(ms))
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			break // the deadline
		}
		for i := 0; i < len(fds); {
			if fds[i].Revents != 0 {
				unix.Close(int(fds[i].Fd))
				fds = append(fds[:i], fds[i+1:]...)
				open = append(open[:i], open[i+1:]...)
				continue
			}
			i++
		}
	}
	return open
}

func lookEvery(pids []int, deadline time.Time) []int {
	for {
		var left []int
		for _, pid := range pids {
			if unix.Kill(pid, 0) == nil && !zombie(pid) {
				left = append(left, pid)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		pids = left
		time.Sleep(10 * time.Millisecond)
	}
}

// zombie reports whether pid has exited and waits to be reaped.
func zombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	_, rest, ok := strings.Cut(string(b), ") ")
	return ok && strings.HasPrefix(rest, "Z")
}
