package commtest

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/rendezvous"
)

// StartHosts connects len(hosts) ranks with cfg, rank r on the host named
// hosts[r] (comm.Options.Host: ranks with equal names share a host for
// SplitType, Nodes and AllocateShared; an empty name is this machine).
// Each rank's LocalRank and LocalSize count the ranks of its host. The
// caller closes them (Close).
func StartHosts(ctx context.Context, hosts []string, cfg comm.Config) (*World, error) {
	n := len(hosts)
	named := false
	for _, h := range hosts {
		named = named || h != ""
	}
	if cfg.Transport == "" {
		cfg.Transport = os.Getenv("GORUN_TEST_TRANSPORT")
		if named && cfg.Transport == comm.TransportShm {
			// Ranks on modelled hosts cannot all share memory.
			cfg.Transport = comm.TransportAuto
		}
	}
	if cfg.Transport == "" {
		cfg.Transport = comm.TransportTCP
	}
	modelled := hosts
	if cfg.Transport == Mixed {
		cfg.Transport = comm.TransportAuto
		modelled = MixedHosts(hosts)
	}
	if cfg.Shm.RingSize == 0 {
		cfg.Shm.RingSize = shmRingSize
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	st := rendezvous.NewMem()
	w := &World{Comms: make([]*comm.Comm, n), Store: st}
	errs := make([]error, n)
	localRank := make([]int, n)
	localSize := map[string]int{}
	for r, h := range hosts {
		localRank[r] = localSize[h]
		localSize[h]++
	}
	var wg sync.WaitGroup
	for r := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.Comms[r], errs[r] = comm.Connect(ctx, comm.Options{
				Rank: r, Size: n, Store: st, Watch: st, Secret: secret,
				LocalRank: localRank[r], LocalSize: localSize[hosts[r]], Host: modelled[r], Config: cfg,
			})
		}()
	}
	wg.Wait()
	for r, err := range errs {
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("commtest: rank %d: %w", r, err)
		}
	}
	return w, nil
}

// MixedHosts is the hosts a Mixed world models: each rank left on this
// machine (an empty name) goes on a host of its own with its neighbour,
// ranks 2h and 2h+1 on host h, so that some pairs share memory and the
// others use TCP; named ranks keep their hosts.
func MixedHosts(hosts []string) []string {
	out := make([]string, len(hosts))
	for r, h := range hosts {
		if h == "" {
			h = "commtest-host-" + strconv.Itoa(r/2)
		}
		out[r] = h
	}
	return out
}

// RunHosts is Run over len(hosts) ranks placed on the named hosts, as
// StartHosts places them.
func RunHosts(t testing.TB, hosts []string, cfg comm.Config, f func(ctx context.Context, c *comm.Comm) error) {
	t.Helper()
	run(t, hosts, cfg, f, false)
}

// Layout names the hosts of ranks placed by slot: counts[i] ranks on host
// "host<i>", in rank order (Layout(2, 1) is host0, host0, host1).
func Layout(counts ...int) []string {
	var hosts []string
	for i, k := range counts {
		for range k {
			hosts = append(hosts, fmt.Sprintf("host%d", i))
		}
	}
	return hosts
}
