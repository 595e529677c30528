//go:build !linux || gorun_portable

package comm

import "syscall"

// setCongestion is the Control function of the listener and of the dialer
// (see transport.go). The portable build keeps the host's TCP congestion
// control: choosing one (Config.TCP.Congestion) is Linux's TCP_CONGESTION.
func (e *engine) setCongestion(network, address string, c syscall.RawConn) error { return nil }

// schedYield does nothing in the portable build: there is no portable way
// to give the thread's CPU to another process, and waiters do not spin on
// portable TCP links (tcpLinksPoll), so nothing calls it in a loop.
func schedYield() {}
