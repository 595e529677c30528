package comm

import (
	"context"
	"testing"
)

// TestConnectReadsNoEnvironment checks that Connect uses the Config it is
// given and nothing from GORUN_* variables, which only Init (and
// DefaultConfig) apply.
func TestConnectReadsNoEnvironment(t *testing.T) {
	t.Setenv("GORUN_EAGER_LIMIT", "100")
	t.Setenv("GORUN_SPIN", "7ms")
	t.Setenv("GORUN_TRANSPORT", "no-such-transport")
	t.Setenv("GORUN_TCP_CC", "cubic")
	t.Setenv("GORUN_OVERSUBSCRIBED", "1")
	c, err := Connect(context.Background(), Options{Rank: 0, Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got := c.e.cfg
	if got.EagerLimit != 64<<10 || got.Spin == 7e6 || got.Transport != TransportAuto || got.TCP.Congestion != "reno" || got.Oversubscribed != Off {
		t.Errorf("Connect took the environment: EagerLimit %d, Spin %v, Transport %q, Congestion %q, Oversubscribed %d",
			got.EagerLimit, got.Spin, got.Transport, got.TCP.Congestion, got.Oversubscribed)
	}
	d := DefaultConfig(1)
	if d.EagerLimit != 100 || d.Spin != 7e6 || d.Transport != "no-such-transport" || d.TCP.Congestion != "cubic" || d.Oversubscribed != On {
		t.Errorf("DefaultConfig ignored the environment: %+v", d)
	}
}
