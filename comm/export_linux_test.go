//go:build linux && !gorun_portable

package comm

import (
	"errors"

	"golang.org/x/sys/unix"
)

// LinkCongestion is the TCP congestion control of c's process's link to
// world rank peer.
func LinkCongestion(c *Comm, peer int) (string, error) {
	l, ok := c.e.links[peer].(*tcpLink)
	if !ok {
		return "", errors.New("no TCP link")
	}
	var cc string
	var serr error
	if err := l.rc.Control(func(fd uintptr) {
		cc, serr = unix.GetsockoptString(int(fd), unix.IPPROTO_TCP, unix.TCP_CONGESTION)
	}); err != nil {
		return "", err
	}
	return cc, serr
}

// LinkPeeks reports whether reads on c's process's link to world rank peer
// leave the bytes queued in the kernel (see rawSource.peek).
func LinkPeeks(c *Comm, peer int) bool {
	l, ok := c.e.links[peer].(*tcpLink)
	return ok && l.src.peek
}
