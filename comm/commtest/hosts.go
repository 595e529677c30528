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
	mixed := cfg.Transport == Mixed
	if mixed {
		cfg.Transport = comm.TransportAuto
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
			host := hosts[r]
			if mixed && host == "" {
				host = "commtest-host-" + strconv.Itoa(r/2)
			}
			w.Comms[r], errs[r] = comm.Connect(ctx, comm.Options{
				Rank: r, Size: n, Store: st, Watch: st, Secret: secret,
				LocalRank: localRank[r], LocalSize: localSize[hosts[r]], Host: host, Config: cfg,
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
