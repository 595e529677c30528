package accept

import (
	"errors"
	"net"
	"time"
)

// Backoff bounds: the first retry waits MinDelay, each next one twice as
// long, up to MaxDelay.
const (
	MinDelay = 5 * time.Millisecond
	MaxDelay = time.Second
)

// Loop accepts connections on ln and hands each to handle, until ln is
// closed or stop is closed; it then returns. An Accept error other than
// the listener's closing is logged through logf, once per run of failures
// (the first, naming what, the listener), and retried after a backoff.
// Close stop as well as ln to end a backoff at once. logf may be nil.
func Loop(ln net.Listener, stop <-chan struct{}, what string, logf func(string, ...any), handle func(net.Conn)) {
	delay := time.Duration(0)
	for {
		c, err := ln.Accept()
		if err == nil {
			delay = 0
			handle(c)
			continue
		}
		if errors.Is(err, net.ErrClosed) {
			return
		}
		select {
		case <-stop:
			return
		default:
		}
		if delay == 0 {
			if logf != nil {
				logf("gorun: %s: accept failed (%v); retrying", what, err)
			}
			delay = MinDelay
		} else {
			delay = min(2*delay, MaxDelay)
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-stop:
			t.Stop()
			return
		}
	}
}
