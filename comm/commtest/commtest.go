// Package commtest runs N ranks inside one process, each with its own world
// communicator connected to the others over real loopback TCP or real
// shared memory, for fast tests of code built on package comm (as
// net/http/httptest does for HTTP).
//
// # Transports
//
// Config.Transport chooses how the ranks are linked: "tcp", "shm", "auto"
// (comm's default: shared memory, as the ranks are on one host), or Mixed,
// which only commtest understands: it gives the ranks host identities of
// two ranks each (ranks 0 and 1 on one "host", 2 and 3 on another, ...),
// so that pairs on one "host" use shared memory and the others TCP, as a
// job over several hosts does. A world whose Config.Transport is empty
// takes GORUN_TEST_TRANSPORT (tcp, shm, mixed, auto) if it is set, so a
// whole test suite can be run over one transport, and TCP otherwise (in
// one process, a large shared-memory world is slow on few CPUs: every
// rank's link readers sleep on futexes in threads of the same process).
// Transports lists the three, for table tests.
package commtest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/rendezvous"
)

// DefaultTimeout bounds a Run that sets no deadline of its own.
const DefaultTimeout = 60 * time.Second

// World is a set of connected in-process ranks. Store is the rendezvous
// store they share: setting its key "abort" aborts the job.
type World struct {
	Comms []*comm.Comm
	Store *rendezvous.Mem
}

// Mixed is a Config.Transport value for commtest only: pairs of ranks on
// one modelled host use shared memory, the others TCP (see the package
// documentation).
const Mixed = "mixed"

// Transports are the transports a table test runs over: TCP for every
// pair, shared memory for every pair, and a mix.
var Transports = []string{comm.TransportTCP, comm.TransportShm, Mixed}

// WithTransport returns cfg with Config.Transport set to transport (one
// of Transports, or "auto").
func WithTransport(cfg comm.Config, transport string) comm.Config {
	cfg.Transport = transport
	return cfg
}

// shmRingSize is the ring size of shared-memory pairs in test worlds that
// set none: a world of 16 ranks has 120 pairs, and each pair's segment is
// reserved in full.
const shmRingSize = 256 << 10

// Start connects n ranks with cfg. The caller closes them (Close).
func Start(ctx context.Context, n int, cfg comm.Config) (*World, error) {
	if cfg.Transport == "" {
		cfg.Transport = os.Getenv("GORUN_TEST_TRANSPORT")
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
	var wg sync.WaitGroup
	for r := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := comm.Options{
				Rank: r, Size: n, Store: st, Watch: st, Secret: secret,
				LocalRank: r, LocalSize: n, Config: cfg,
			}
			if mixed {
				o.Host = "commtest-host-" + strconv.Itoa(r/2)
			}
			w.Comms[r], errs[r] = comm.Connect(ctx, o)
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

// Close closes every rank's communicator concurrently (Close is collective).
func (w *World) Close() error {
	var wg sync.WaitGroup
	errs := make([]error, len(w.Comms))
	for r, c := range w.Comms {
		if c == nil {
			continue
		}
		wg.Add(1)
		go func() { defer wg.Done(); errs[r] = c.Close() }()
	}
	wg.Wait()
	for r, err := range errs {
		if err != nil {
			return fmt.Errorf("commtest: closing rank %d: %w", r, err)
		}
	}
	return nil
}

// Run starts n ranks with cfg, runs f concurrently on every rank with a
// context that ends after DefaultTimeout, and closes the ranks. It fails t
// with every rank's error if any f returns one, and fails loudly (instead
// of hanging) if the ranks do not finish in time.
func Run(t testing.TB, n int, cfg comm.Config, f func(ctx context.Context, c *comm.Comm) error) {
	t.Helper()
	run(t, n, cfg, f, false)
}

// RunUnmatched is Run for tests that leave messages unmatched on purpose
// (a call that fails on some ranks while its peers have sent): a Close that
// reports what it dropped (comm.ErrDropped) is not a failure; any other
// Close error is.
func RunUnmatched(t testing.TB, n int, cfg comm.Config, f func(ctx context.Context, c *comm.Comm) error) {
	t.Helper()
	run(t, n, cfg, f, true)
}

func run(t testing.TB, n int, cfg comm.Config, f func(ctx context.Context, c *comm.Comm) error, dropOK bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	w, err := Start(ctx, n, cfg)
	if err != nil {
		t.Fatal(err)
	}
	errs := make([]error, n)
	done := make(chan struct{})
	go func() {
		var wg sync.WaitGroup
		for r, c := range w.Comms {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[r] = f(ctx, c)
			}()
		}
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(DefaultTimeout + 5*time.Second):
		t.Fatalf("commtest: %d ranks did not finish within %v", n, DefaultTimeout)
	}
	failed := false
	for r, err := range errs {
		if err != nil {
			t.Errorf("rank %d/%d: %v", r, n, err)
			failed = true
		}
	}
	if failed {
		// Do not wait for a collective Close the failed ranks may never join.
		w.Store.Set(context.Background(), "abort", []byte("test failed"))
	}
	cerr := make(chan error, 1)
	go func() { cerr <- w.Close() }()
	select {
	case err := <-cerr:
		if err != nil && !failed && !(dropOK && errors.Is(err, comm.ErrDropped)) {
			t.Error(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("commtest: closing %d ranks did not finish within 30s", n)
	}
}

// Lines starts n ranks with cfg, runs f concurrently on every rank with a
// context that ends after timeout, closes the ranks, and returns the line
// each rank's f returned, in rank order (a rank whose f failed gets
// "rank R: ERROR"). It is for Example functions, whose output is printed
// and compared: it reports only a failure to start the world as an error.
func Lines(n int, cfg comm.Config, timeout time.Duration, f func(ctx context.Context, c *comm.Comm) (string, error)) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	w, err := Start(ctx, n, cfg)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	lines := make([]string, n)
	var wg sync.WaitGroup
	for r, c := range w.Comms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			line, err := f(ctx, c)
			if err != nil {
				line = fmt.Sprintf("rank %d: %v", r, err)
			}
			lines[r] = line
		}()
	}
	wg.Wait()
	return lines, nil
}
