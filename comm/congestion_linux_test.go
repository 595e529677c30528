//go:build linux && !gorun_portable

package comm_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// TestLinkCongestion checks that links between ranks of one host get
// Config.TCP.Congestion (reno by default), that "system" keeps the host's
// default, and that a refused name leaves the default and logs one line.
func TestLinkCongestion(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/tcp_congestion_control")
	if err != nil {
		t.Skipf("no TCP congestion control setting here: %v", err)
	}
	system := strings.TrimSpace(string(b))
	var logged atomic.Int32
	for _, tc := range []struct {
		cfg  comm.Config
		want string
		logs bool
	}{
		{comm.Config{Transport: comm.TransportTCP}, "reno", false},
		{comm.Config{Transport: comm.TransportTCP, TCP: comm.TCPConfig{Congestion: "system"}}, system, false},
		{comm.Config{Transport: comm.TransportTCP, TCP: comm.TCPConfig{Congestion: "no-such-algorithm"}}, system, true},
	} {
		t.Run(tc.want+"/"+tc.cfg.TCP.Congestion, func(t *testing.T) {
			t.Setenv("GORUN_TCP_CC", "")
			logged.Store(0)
			cfg := tc.cfg
			cfg.Logf = func(f string, a ...any) {
				if strings.Contains(fmt.Sprintf(f, a...), "congestion control") {
					logged.Add(1)
				}
			}
			commtest.Run(t, 3, cfg, func(ctx context.Context, c *comm.Comm) error {
				for p := range c.Size() {
					if p == c.Rank() {
						continue
					}
					got, err := comm.LinkCongestion(c, p)
					if err != nil {
						return err
					}
					if got != tc.want {
						return fmt.Errorf("link %d-%d: congestion control %q, want %q", c.Rank(), p, got, tc.want)
					}
				}
				return nil
			})
			// One line per process at most: commtest runs 3 in one.
			if n := logged.Load(); tc.logs != (n > 0) || n > 3 {
				t.Errorf("%d log lines about congestion control", n)
			}
		})
	}
}
