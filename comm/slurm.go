package comm

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gorun-hpc/gorun/comm/hostlist"
	"github.com/gorun-hpc/gorun/comm/internal/wire"
	"github.com/gorun-hpc/gorun/comm/rendezvous"
)

// slurmOptions returns the options of a rank started directly by srun
// (srun -n 8 ./prog), from SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID and
// SLURM_STEP_NODELIST; outside a Slurm job step (no SLURM_STEP_ID, as in a
// plain shell or a batch script) it returns a singleton world.
//
// Direct launch wires the ranks up without gorun: rank 0 serves the
// rendezvous store on the first node of the step, at a port derived from
// the job and step ids (GORUN_SLURM_PORT overrides it), and every rank
// reaches it through a small local relay (see storeRelay). The job key is
// GORUN_SECRET if set (hex), else derived from a per-user key file,
// $GORUN_KEY_FILE or ~/.gorun/slurm.key (created on first use; it must be on
// a file system every node shares).
func slurmOptions(getenv func(string) string) (Options, error) {
	single := Options{Size: 1, LocalSize: 1}
	stepID := getenv("SLURM_STEP_ID")
	if stepID == "" {
		stepID = getenv("SLURM_STEPID")
	}
	if stepID == "" && getenv("SLURM_STEP_NODELIST") == "" {
		return single, nil
	}
	id, err := slurmIdentity(getenv)
	if err != nil {
		return Options{}, fmt.Errorf("comm: srun direct launch: %v; refusing to start as a singleton", err)
	}
	if id.size == 1 {
		return single, nil
	}
	o, err := slurmWireUp(getenv, id, stepID)
	if err != nil {
		return Options{}, fmt.Errorf("comm: srun direct launch (rank %d of %d): %v", id.rank, id.size, err)
	}
	return o, nil
}

type slurmID struct {
	rank, size, localRank, localSize, nodeID int
	nodes                                    []string
	jobID                                    string
}

// slurmIdentity reads and cross-checks a task's identity.
func slurmIdentity(getenv func(string) string) (slurmID, error) {
	var id slurmID
	num := func(names ...string) (int, error) {
		for _, name := range names {
			v := getenv(name)
			if v == "" {
				continue
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return 0, fmt.Errorf("%s=%q is not a valid number", name, v)
			}
			return n, nil
		}
		return 0, fmt.Errorf("%s is not set", names[0])
	}
	var err error
	if id.rank, err = num("SLURM_PROCID"); err != nil {
		return id, err
	}
	if id.size, err = num("SLURM_STEP_NUM_TASKS", "SLURM_NTASKS", "SLURM_NPROCS"); err != nil {
		return id, err
	}
	if n, err := num("SLURM_NTASKS"); err == nil && n != id.size {
		return id, fmt.Errorf("SLURM_NTASKS=%d disagrees with SLURM_STEP_NUM_TASKS=%d", n, id.size)
	}
	if id.size < 1 || id.rank >= id.size {
		return id, fmt.Errorf("SLURM_PROCID=%d does not fit %d tasks", id.rank, id.size)
	}
	if id.localRank, err = num("SLURM_LOCALID"); err != nil {
		return id, err
	}
	if id.nodeID, err = num("SLURM_NODEID"); err != nil {
		return id, err
	}
	list := getenv("SLURM_STEP_NODELIST")
	if list == "" {
		return id, errors.New("SLURM_STEP_NODELIST is not set")
	}
	if id.nodes, err = hostlist.ExpandNodelist(list); err != nil || len(id.nodes) == 0 {
		return id, fmt.Errorf("SLURM_STEP_NODELIST=%q: %v", list, err)
	}
	if id.nodeID >= len(id.nodes) {
		return id, fmt.Errorf("SLURM_NODEID=%d but the step has %d nodes", id.nodeID, len(id.nodes))
	}
	tpn := getenv("SLURM_STEP_TASKS_PER_NODE")
	if tpn == "" {
		tpn = getenv("SLURM_TASKS_PER_NODE")
	}
	counts, err := hostlist.ExpandTasksPerNode(tpn)
	if err != nil {
		return id, fmt.Errorf("SLURM_STEP_TASKS_PER_NODE=%q: %v", tpn, err)
	}
	if len(counts) != len(id.nodes) {
		return id, fmt.Errorf("SLURM_STEP_TASKS_PER_NODE=%q gives %d nodes, SLURM_STEP_NODELIST %d", tpn, len(counts), len(id.nodes))
	}
	total := 0
	for _, c := range counts {
		total += c
	}
	if total != id.size {
		return id, fmt.Errorf("SLURM_STEP_TASKS_PER_NODE=%q adds up to %d tasks, not %d", tpn, total, id.size)
	}
	id.localSize = counts[id.nodeID]
	if id.localRank >= id.localSize {
		return id, fmt.Errorf("SLURM_LOCALID=%d does not fit the %d tasks of node %s", id.localRank, id.localSize, id.nodes[id.nodeID])
	}
	if id.rank == 0 && id.nodeID != 0 {
		return id, fmt.Errorf("task 0 runs on node %s, not on the step's first node (use the block or cyclic distribution)", id.nodes[id.nodeID])
	}
	id.jobID = getenv("SLURM_JOB_ID")
	if id.jobID == "" {
		id.jobID = getenv("SLURM_JOBID")
	}
	if id.jobID == "" {
		return id, errors.New("SLURM_JOB_ID is not set")
	}
	return id, nil
}

func slurmWireUp(getenv func(string) string, id slurmID, stepID string) (Options, error) {
	secret, err := slurmSecret(getenv, id.jobID, stepID)
	if err != nil {
		return Options{}, err
	}
	ip0, err := slurmNodeAddr(id.nodes[0])
	if err != nil {
		return Options{}, err
	}
	port := 0
	if p := getenv("GORUN_SLURM_PORT"); p != "" {
		if port, err = strconv.Atoi(p); err != nil || port <= 0 || port > 65535 {
			return Options{}, fmt.Errorf("GORUN_SLURM_PORT=%q is not a port", p)
		}
	} else {
		// Below Linux's ephemeral range, so that it rarely collides with
		// an outgoing connection.
		h := fnv.New32a()
		h.Write([]byte(id.jobID + "." + stepID))
		port = 10000 + int(h.Sum32()%22000)
	}
	store := net.JoinHostPort(ip0, strconv.Itoa(port))
	var st rendezvous.Store
	if id.rank == 0 {
		ln, err := net.Listen("tcp", store)
		if err != nil {
			return Options{}, fmt.Errorf("serving the rendezvous store on %s (node %s): %v (set GORUN_SLURM_PORT to another port)", store, id.nodes[0], err)
		}
		// The server lives as long as the process: ranks use it only
		// during start-up, and rank 0 cannot leave before they are done.
		st = rendezvous.Serve(ln, secret, func(f string, a ...any) { fmt.Fprintf(os.Stderr, "gorun: rank 0: "+f+"\n", a...) }).Store()
	}
	addr := getenv("GORUN_ADDR")
	if addr == "" {
		c, err := net.Dial("udp", net.JoinHostPort(ip0, "9"))
		if err != nil {
			return Options{}, fmt.Errorf("no route to node %s (%s): %v", id.nodes[0], ip0, err)
		}
		addr = c.LocalAddr().(*net.UDPAddr).IP.String()
		c.Close()
	}
	if st == nil {
		if st, err = dialRetry(store, secret, id.rank, 60*time.Second); err != nil {
			return Options{}, err
		}
	}
	return Options{Rank: id.rank, Size: id.size, LocalRank: id.localRank, LocalSize: id.localSize, Secret: secret, Addr: addr, Store: st}, nil
}

// dialRetry connects to rank 0's store, retrying while rank 0 starts.
func dialRetry(addr string, secret []byte, rank int, wait time.Duration) (rendezvous.Store, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for delay := 10 * time.Millisecond; ; delay = min(2*delay, 500*time.Millisecond) {
		c, err := rendezvous.Dial(ctx, addr, secret, uint32(rank))
		if err == nil {
			return c, nil
		}
		if errors.Is(err, wire.ErrAuth) {
			return nil, fmt.Errorf("rank 0's store at %s: %v (do all tasks share the key file?)", addr, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("rank 0's store at %s did not answer within %v: %v", addr, wait, err)
		case <-time.After(delay):
		}
	}
}

// slurmNodeAddr returns the IP address of a Slurm node: its DNS address,
// else the NodeAddr that Slurm itself knows.
func slurmNodeAddr(node string) (string, error) {
	if ip := net.ParseIP(node); ip != nil {
		return ip.String(), nil
	}
	if addrs, err := net.LookupHost(node); err == nil {
		for _, a := range addrs {
			if ip := net.ParseIP(a); ip != nil && !ip.IsLoopback() {
				return a, nil
			}
		}
	}
	out, err := exec.Command("scontrol", "show", "node", "-o", node).Output()
	if err == nil {
		for _, f := range strings.Fields(string(out)) {
			if v, ok := strings.CutPrefix(f, "NodeAddr="); ok {
				if ip := net.ParseIP(v); ip != nil {
					return v, nil
				}
				if addrs, err := net.LookupHost(v); err == nil && len(addrs) > 0 {
					return addrs[0], nil
				}
			}
		}
	}
	return "", fmt.Errorf("cannot find the address of node %s (not in DNS, and scontrol show node gave none)", node)
}

// slurmSecret derives the job step's key from GORUN_SECRET or the user's
// key file, so that every task of the step computes the same key while
// nothing secret travels on a command line.
func slurmSecret(getenv func(string) string, jobID, stepID string) ([]byte, error) {
	var base []byte
	if s := getenv("GORUN_SECRET"); s != "" {
		b, err := hex.DecodeString(s)
		if err != nil || len(b) < 16 {
			return nil, errors.New("GORUN_SECRET must be at least 16 bytes in hex")
		}
		base = b
		os.Unsetenv("GORUN_SECRET")
	} else {
		path := getenv("GORUN_KEY_FILE")
		if path == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return nil, fmt.Errorf("no home directory for the key file (set GORUN_KEY_FILE or GORUN_SECRET): %v", err)
			}
			path = filepath.Join(home, ".gorun", "slurm.key")
		}
		b, err := readOrCreateKey(path)
		if err != nil {
			return nil, fmt.Errorf("key file %s: %v (set GORUN_KEY_FILE to a file on a shared file system, or export GORUN_SECRET)", path, err)
		}
		base = b
	}
	m := hmac.New(sha256.New, base)
	m.Write([]byte("gorun-slurm/" + jobID + "." + stepID))
	return m.Sum(nil), nil
}

// readOrCreateKey reads a 32-byte key file, creating it (mode 0600)
// atomically if it does not exist: concurrent tasks all end up with the
// key of whichever created it first.
func readOrCreateKey(path string) ([]byte, error) {
	for range 2 {
		b, err := os.ReadFile(path)
		if err == nil {
			if len(b) < 32 {
				return nil, errors.New("the file is shorter than 32 bytes")
			}
			return b[:32], nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		f, err := os.CreateTemp(filepath.Dir(path), ".slurm.key-")
		if err != nil {
			return nil, err
		}
		key := make([]byte, 32)
		rand.Read(key)
		_, werr := f.Write(key)
		f.Chmod(0o600)
		f.Close()
		if werr == nil {
			os.Link(f.Name(), path) // fails harmlessly if another task won
		}
		os.Remove(f.Name())
	}
	return nil, errors.New("cannot create it")
}
