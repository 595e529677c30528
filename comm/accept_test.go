package comm_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// failingListener wraps a rank's real listener: its first Accepts fail
// with err, as under a low open-file limit (EMFILE, ENFILE) or with
// clients that gave up (ECONNABORTED).
type failingListener struct {
	net.Listener
	n   atomic.Int32
	err error
}

func (l *failingListener) Accept() (net.Conn, error) {
	if l.n.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.Addr(), Err: l.err}
	}
	return l.Listener.Accept()
}

// TestAcceptErrorsAreRetried: ranks whose listeners fail a few accepts
// still connect, and each logs the failure once.
func TestAcceptErrorsAreRetried(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ECONNABORTED} {
		for _, n := range []int{2, 3, 5} {
			t.Run(fmt.Sprintf("%v/np=%d", errno, n), func(t *testing.T) {
				restore := comm.SetListenerHook(func(ln net.Listener) net.Listener {
					fl := &failingListener{Listener: ln, err: errno}
					fl.n.Store(3)
					return fl
				})
				defer restore()
				var mu sync.Mutex
				logged := 0
				cfg := comm.Config{ConnectTimeout: 20 * time.Second, Logf: func(f string, a ...any) {
					if strings.Contains(fmt.Sprintf(f, a...), "accept failed") {
						mu.Lock()
						logged++
						mu.Unlock()
					}
				}}
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				w, err := commtest.Start(ctx, n, cfg)
				if err != nil {
					t.Fatal(err)
				}
				defer w.Close()
				// Every listener fails its first accepts and logs once;
				// all but the last rank's had to accept a higher rank, so
				// theirs have certainly logged by now.
				mu.Lock()
				if logged < n-1 || logged > n {
					t.Errorf("%d accept log lines, want one per listener (%d or %d)", logged, n-1, n)
				}
				mu.Unlock()
			})
		}
	}
}
