//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package launchtest

import (
	"time"

	"golang.org/x/sys/unix"
)

// waitGone registers each process with a kqueue (EVFILT_PROC, NOTE_EXIT)
// and collects their exits.
func waitGone(pids []int, deadline time.Time) []int {
	kq, err := unix.Kqueue()
	if err != nil {
		return pids
	}
	defer unix.Close(kq)
	alive := map[int]bool{}
	for _, pid := range pids {
		var ev unix.Kevent_t
		unix.SetKevent(&ev, pid, unix.EVFILT_PROC, unix.EV_ADD|unix.EV_ONESHOT)
		ev.Fflags = unix.NOTE_EXIT
		if _, err := unix.Kevent(kq, []unix.Kevent_t{ev}, nil, nil); err != nil {
			continue // ESRCH: gone already
		}
		alive[pid] = true
	}
	events := make([]unix.Kevent_t, 16)
	for len(alive) > 0 {
		ts := unix.NsecToTimespec(max(0, time.Until(deadline).Nanoseconds()))
		n, err := unix.Kevent(kq, nil, events, &ts)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			break // the deadline
		}
		for _, ev := range events[:n] {
			delete(alive, int(ev.Ident))
		}
	}
	var left []int
	for _, pid := range pids {
		if alive[pid] {
			left = append(left, pid)
		}
	}
	return left
}
