//go:build linux && !gorun_portable

package comm_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
	"github.com/gorun-hpc/gorun/comm/internal/tmpfstest"
	"github.com/gorun-hpc/gorun/comm/rendezvous"
)

// TestShmFallsBackToTCP: when a pair's segment does not fit (here a 1 MiB
// tmpfs as Config.Shm.Dir, like a container's small /dev/shm), the pair
// uses TCP, with one log line per pair, and the job works; with the
// transport forced to shm it is an error at start-up instead. Needs root
// for the mount, in a mount namespace of its own (unshare -m).
func TestShmFallsBackToTCP(t *testing.T) {
	if dir := tmpfstest.Dir(); dir != "" {
		shmFallback(t, dir)
		return
	}
	tmpfstest.Rerun(t, "1M", 2*time.Minute)
}

func shmFallback(t *testing.T, dir string) {
	const np = 3
	var mu sync.Mutex
	var logs []string
	cfg := comm.Config{Transport: comm.TransportAuto, Shm: comm.ShmConfig{Dir: dir, RingSize: 1 << 20},
		Logf: func(f string, a ...any) {
			mu.Lock()
			logs = append(logs, fmt.Sprintf(f, a...))
			mu.Unlock()
		}}
	commtest.Run(t, np, cfg, func(ctx context.Context, c *comm.Comm) error {
		r, n := c.Rank(), c.Size()
		got := make([]byte, 100<<10)
		_, err := comm.Sendrecv(ctx, c, make([]byte, 100<<10), (r+1)%n, 0, got, (r+n-1)%n, 0)
		return err
	})
	mu.Lock()
	n := 0
	for _, l := range logs {
		if strings.Contains(l, "no shared memory for rank") {
			n++
		}
	}
	mu.Unlock()
	if n != np*(np-1)/2 {
		t.Errorf("%d fallback lines for %d pairs: %q", n, np*(np-1)/2, logs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg.Transport = comm.TransportShm
	cfg.Logf = func(f string, a ...any) {
		if l := fmt.Sprintf(f, a...); strings.Contains(l, "uses TCP") {
			t.Errorf("forced shm logged a fallback it does not make: %s", l)
		}
	}
	w, err := commtest.Start(ctx, 2, cfg)
	if err == nil {
		w.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "transport shm is forced") {
		t.Errorf("forced shm without room: %v, want a start-up error", err)
	} else if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("forced shm without room timed out: %v", err)
	}
}

// TestTransportMismatchFailsStartup: shared memory forced between ranks of
// two hosts, or shm on one rank and tcp on the other, is an error at
// start-up on both ranks, well before the connect deadline.
func TestTransportMismatchFailsStartup(t *testing.T) {
	for _, tc := range []struct {
		name         string
		hosts, modes [2]string
		want         string
	}{
		{"two hosts", [2]string{"host-a", "host-b"}, [2]string{"shm", "shm"}, "is on host"},
		{"two hosts, one forces", [2]string{"host-a", "host-b"}, [2]string{"auto", "shm"}, "is on host"},
		{"shm against tcp", [2]string{"h", "h"}, [2]string{"shm", "tcp"}, "forced on one of ranks"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			st := rendezvous.NewMem()
			secret := []byte("0123456789abcdef0123456789abcdef")
			errs := make([]error, 2)
			var wg sync.WaitGroup
			for r := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c, err := comm.Connect(ctx, comm.Options{Rank: r, Size: 2, Store: st, Secret: secret, Host: tc.hosts[r],
						Config: comm.Config{Transport: tc.modes[r], ConnectTimeout: 20 * time.Second, Logf: func(string, ...any) {}}})
					if err == nil {
						c.Close()
					}
					errs[r] = err
				}()
			}
			wg.Wait()
			for r, err := range errs {
				if err == nil || !strings.Contains(err.Error(), tc.want) || errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("rank %d: %v, want an error saying %q", r, err, tc.want)
				}
			}
		})
	}
}
