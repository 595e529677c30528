//go:build linux && !gorun_portable

package comm

import (
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// setCongestion is the Control function of the listener and of the
// dialer: it gives the socket Config.TCP.Congestion before it connects or
// listens (accepted sockets inherit the listener's), so that the host's
// default never starts on it. Set on a connected socket, reno would keep
// the pacing a default BBR had turned on (a timer per segment, at a rate
// from the round trips it measured), which Alltoall at np 8 paid for. A
// refused name keeps the default and logs one line.
func (e *engine) setCongestion(network, address string, c syscall.RawConn) error {
	cc := e.cfg.TCP.Congestion
	if cc == "system" {
		return nil
	}
	var serr error
	c.Control(func(fd uintptr) {
		serr = unix.SetsockoptString(int(fd), unix.IPPROTO_TCP, unix.TCP_CONGESTION, cc)
	})
	if serr != nil {
		e.ccOnce.Do(func() {
			e.logf("gorun: rank %d: TCP congestion control %q refused (%v); keeping the host's default (GORUN_TCP_CC=system silences this)", e.rank, cc, serr)
		})
	}
	return nil
}

// defaultCongestion is the congestion control a new TCP socket gets in
// this network namespace ("" if it cannot be read).
var defaultCongestion = sync.OnceValue(func() string {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return ""
	}
	defer unix.Close(fd)
	cc, err := unix.GetsockoptString(fd, unix.IPPROTO_TCP, unix.TCP_CONGESTION)
	if err != nil {
		return ""
	}
	return cc
})
