package comm

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"

	"github.com/gorun-hpc/gorun/comm/rendezvous"
)

// Options describe how a rank joins a job. Init fills them from the
// environment that gorun sets; tests and embedders may call Connect directly.
type Options struct {
	Rank, Size int
	// Store is where ranks publish their addresses and find each other's.
	Store rendezvous.Store
	// Watch, if not nil, is watched for the key "abort": when it appears,
	// every pending and later operation fails with ErrAborted. Use a store
	// connection of its own (a Get on it waits for the job's lifetime).
	Watch rendezvous.Store
	// Secret is the job key every connection must prove it knows.
	Secret []byte
	// Addr is the IP address to listen on and advertise. Default 127.0.0.1.
	Addr string
	// LocalRank and LocalSize place the rank on its host.
	LocalRank, LocalSize int
	// Host identifies the rank's host: ranks with the same Host are on one
	// host for the choice of transports (under Config.Transport "auto"
	// they are linked by shared memory) and for SplitType, Nodes and
	// AllocateShared. Default: the boot id and the host name. (Tests give
	// ranks of one machine different Hosts to model several.)
	Host   string
	Config Config
}

// Connect joins a job: it listens, publishes its address, connects to every
// other rank and returns the world communicator. A rank out of [0, Size)
// is an error wrapping ErrInvalidRank, a bad Config one wrapping
// ErrInvalidArgument.
func Connect(ctx context.Context, o Options) (*Comm, error) {
	if o.Size < 1 || o.Rank < 0 || o.Rank >= o.Size {
		return nil, argErrorf(ErrInvalidRank, "comm: Connect: rank %d out of range [0,%d)", o.Rank, o.Size)
	}
	cfg := o.Config
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.fill(o.LocalSize)
	e := newEngine(o.Rank, o.Size, cfg)
	e.yieldPoll = cfg.Spin > 0 && runtime.GOMAXPROCS(0) == 1 && tcpLinksPoll
	e.osYield = cfg.Yield == On
	group := make([]int, o.Size)
	for i := range group {
		group[i] = i
	}
	e.pollSpin = cfg.Spin
	w := newComm(e, 0, group, o.Rank)
	e.worldComm = w
	w.proc = &process{store: o.Store, watch: o.Watch, localRank: o.LocalRank, localSize: o.LocalSize}
	w.proc.hosts.setIdentity(o)
	o.Host = w.proc.hosts.id // the one identity the transports publish
	if o.Size == 1 {
		return w, nil
	}
	if o.Store == nil {
		return nil, errors.New("comm: Connect needs a store for a job of more than one rank")
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	// Watch for the launcher's abort notice before any link exists: a
	// peer may die while this rank is still connecting to the others.
	if o.Watch != nil {
		e.lossGrace = cfg.LossGrace
		wctx, stop := context.WithCancel(context.Background())
		w.proc.stopWatch = stop
		go w.watchAbort(wctx)
	}
	if err := e.connect(ctx, o); err != nil {
		if w.proc.stopWatch != nil {
			w.proc.stopWatch()
		}
		e.fail(fmt.Errorf("%w: start-up failed", ErrClosed))
		e.closeTransports()
		e.closeLinks()
		return nil, fmt.Errorf("comm: rank %d: start-up: %w", o.Rank, err)
	}
	return w, nil
}

// connect makes the transports, publishes what each needs in the store
// (the TCP address last: peers dial as soon as they see it), and links
// every pair.
func (e *engine) connect(ctx context.Context, o Options) error {
	tcp, err := newTCPTransport(ctx, e, o)
	if err != nil {
		return err
	}
	e.transports = []transport{newShmTransport(e, o), tcp}
	for _, t := range e.transports {
		if err := t.publish(ctx); err != nil {
			return err
		}
	}
	if err := tcp.connect(ctx); err != nil {
		return err
	}
	e.findPassive()
	return nil
}

// Init returns the world communicator of a job started by gorun, from the
// environment gorun sets (GORUN_RANK, GORUN_SIZE, GORUN_STORE, ...). Started
// without gorun, it returns a world of one rank (MPI's singleton start).
// Call it once per process.
func Init() (*Comm, error) { return InitConfig(Config{}) }

// InitConfig is Init with a configuration: the environment's overrides
// (see Config) apply to the fields cfg leaves zero.
func InitConfig(cfg Config) (*Comm, error) {
	o, err := optionsFromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	cfg.applyEnv(os.Getenv)
	o.Config = cfg
	link := openAgentLink() // agentlink.go: the line to gorun's agent (nil without one)
	if o.Size > 1 && o.Store == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		storeAddr := os.Getenv("GORUN_STORE")
		st, err := rendezvous.Dial(ctx, storeAddr, o.Secret, uint32(o.Rank))
		if err != nil {
			return nil, fmt.Errorf("comm: rank %d: %w", o.Rank, err)
		}
		wt, err := rendezvous.Dial(ctx, storeAddr, o.Secret, uint32(o.Rank))
		if err != nil {
			st.Close()
			return nil, fmt.Errorf("comm: rank %d: %w", o.Rank, err)
		}
		o.Store, o.Watch = st, wt
	}
	ctx, stop := link.starting()
	w, err := Connect(ctx, o)
	err = link.started(ctx, o.Rank, w, err)
	stop()
	var owned []rendezvous.Store
	for _, s := range []rendezvous.Store{o.Store, o.Watch} {
		if s != nil {
			owned = append(owned, s)
		}
	}
	if err != nil {
		for _, s := range owned {
			s.Close()
		}
		return nil, err
	}
	w.proc.owned = owned
	return w, nil
}

func optionsFromEnv(getenv func(string) string) (Options, error) {
	o := Options{Size: 1, LocalSize: 1}
	sizeStr := getenv("GORUN_SIZE")
	if sizeStr == "" {
		// Not started by gorun: perhaps by srun directly (see slurm.go).
		return slurmOptions(getenv)
	}
	num := func(name string) (int, error) {
		v, err := strconv.Atoi(getenv(name))
		if err != nil || v < 0 {
			return 0, fmt.Errorf("comm: environment: %s=%q is not a valid number (was this process started by gorun?)", name, getenv(name))
		}
		return v, nil
	}
	var err error
	if o.Size, err = num("GORUN_SIZE"); err != nil {
		return o, err
	}
	if o.Rank, err = num("GORUN_RANK"); err != nil {
		return o, err
	}
	if o.Size < 1 || o.Rank >= o.Size {
		return o, fmt.Errorf("comm: environment: GORUN_RANK=%d does not fit GORUN_SIZE=%d", o.Rank, o.Size)
	}
	o.LocalRank, _ = num("GORUN_LOCAL_RANK")
	if o.LocalSize, err = num("GORUN_LOCAL_SIZE"); err != nil {
		o.LocalSize = 1
	}
	o.Addr = getenv("GORUN_ADDR")
	if o.Size > 1 {
		if getenv("GORUN_STORE") == "" {
			return o, errors.New("comm: environment: GORUN_STORE is not set")
		}
		secret, err := hex.DecodeString(getenv("GORUN_SECRET"))
		if err != nil || len(secret) < 16 {
			return o, errors.New("comm: environment: GORUN_SECRET is missing or malformed")
		}
		o.Secret = secret
		// The secret stays out of the environment of anything this
		// process starts.
		os.Unsetenv("GORUN_SECRET")
	}
	return o, nil
}
