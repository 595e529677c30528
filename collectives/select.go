package collectives

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
)

// Option tunes one collective call.
type Option func(*config)

type config struct {
	alg string
	seg int
}

// WithAlgorithm forces the algorithm of the collective it is passed to, by
// name (see Algorithms). It takes precedence over the environment variable
// GORUN_COLL_<COLLECTIVE> (e.g. GORUN_COLL_ALLREDUCE=ring), which is read
// once, at the process's first collective call. An unknown name
// panics. When the forced algorithm cannot run the call (see each
// algorithm's documentation, e.g. ring with a non-commutative operation), the
// collective falls back to the one named in that documentation.
func WithAlgorithm(name string) Option {
	return func(c *config) { c.alg = name }
}

// WithSegmentSize sets the segment size in bytes of the pipelined and
// segmented algorithms (default DefaultSegmentSize; environment
// GORUN_COLL_SEGMENT, read at the first collective call). Rounded to whole elements, at least one.
func WithSegmentSize(bytes int) Option {
	return func(c *config) { c.seg = bytes }
}

// DefaultSegmentSize is the default segment size in bytes of the
// segmented algorithms (Bcast pipeline, ring Allreduce and ReduceScatter,
// ring Allgather(v)).
const DefaultSegmentSize = 128 << 10

// Collective names as used by Algorithms, WithAlgorithm's environment
// variables (GORUN_COLL_ + upper-case name) and the benchmark.
var algorithms = map[string][]string{
	"barrier":       {"dissemination"},
	"bcast":         {"binomial", "scatter_allgather", "pipeline"},
	"reduce":        {"binomial", "rabenseifner"},
	"allreduce":     {"recdoubling", "rabenseifner", "ring", "reduce_bcast"},
	"allgather":     {"recdoubling", "bruck", "ring"},
	"allgatherv":    {"ring"},
	"alltoall":      {"bruck", "pairwise"},
	"alltoallv":     {"pairwise"},
	"gather":        {"binomial", "linear"},
	"gatherv":       {"linear"},
	"scatter":       {"binomial", "linear"},
	"scatterv":      {"linear"},
	"reducescatter": {"ring", "reduce_scatterv"},
	"scan":          {"recdoubling"},
	"exscan":        {"recdoubling"},
}

// Algorithms returns the algorithm names of a collective ("allreduce",
// "bcast", ...; nil for an unknown name). The first is not necessarily the
// default: the selector picks by message size and rank count.
func Algorithms(collective string) []string {
	return slices.Clone(algorithms[strings.ToLower(collective)])
}

// Collectives returns the collective names Algorithms knows, sorted.
func Collectives() []string {
	var out []string
	for k := range algorithms {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// envSettings holds the GORUN_COLL_* environment variables, read once, at
// the first collective call of the process (as MPI implementations read
// their tuning parameters at initialisation): a call then costs no lookup
// in the environment.
type envSettings struct {
	seg int               // GORUN_COLL_SEGMENT, 0 if unset or invalid
	alg map[string]string // collective -> GORUN_COLL_<COLLECTIVE>, when set
}

var env atomic.Pointer[envSettings]

// loadEnv reads the environment variables again and returns what it read.
// Safe for concurrent use.
func loadEnv() *envSettings {
	e := &envSettings{alg: make(map[string]string)}
	if s := os.Getenv("GORUN_COLL_SEGMENT"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			e.seg = n
		}
	}
	for k := range algorithms {
		if v := os.Getenv("GORUN_COLL_" + strings.ToUpper(k)); v != "" {
			e.alg[k] = v
		}
	}
	env.Store(e)
	return e
}

func configure(coll string, opts []Option) config {
	e := env.Load()
	if e == nil {
		e = loadEnv()
	}
	cfg := config{alg: e.alg[coll], seg: e.seg}
	if len(opts) > 0 {
		// The options see a copy, so that cfg itself stays on the stack.
		c := cfg
		for _, o := range opts {
			o(&c)
		}
		cfg = c
	}
	if cfg.alg != "" && !slices.Contains(algorithms[coll], cfg.alg) {
		panic(fmt.Sprintf("collectives: %s: unknown algorithm %q (have %s)", coll, cfg.alg, strings.Join(algorithms[coll], ", ")))
	}
	if cfg.seg <= 0 {
		cfg.seg = DefaultSegmentSize
	}
	return cfg
}

// segElems is the segment size in elements of esize bytes each.
func (cfg config) segElems(esize int) int {
	return max(cfg.seg/esize, 1)
}

// Selector thresholds, in bytes, measured on the project's 2-core VM with
// bench/coll over loopback TCP at np 2, 4 and 8 (bench/coll/README.md has
// the tables and the command). On this machine the CPU, not a link, is the
// bottleneck (np 4 and 8 oversubscribe 2 cores, and every message that
// finds its receiver asleep costs a wake-up), so the algorithms that send
// fewer, larger messages in fewer rounds win longer than on a real network;
// scatter_allgather for Bcast and ring for Allreduce never won and are
// chosen only for messages beyond the measured range (4 MiB).
//
// Second measurement (3 alternating rounds of all algorithms, medians, µs):
// Allreduce rabenseifner against ring at 1 MiB: np 2 611/628, np 4
// 3135/4191, np 8 9491/11554; at 4 MiB np 4 18329/21736, np 8
// 30334/40901; so rabenseifner replaced ring from 1 MiB (allreduceLarge
// was 1 MiB). Bcast at np 2, binomial (one message) against pipeline:
// 64 KiB 36/40, 256 KiB 67/69, 1 MiB 181/194, 2 MiB 447/405, 4 MiB 781/844,
// so np 2 keeps binomial up to 1 MiB (bcastPipelineP2 was 64 KiB).
//
// Third measurement (5 alternating rounds, medians, µs), Allreduce
// reduce_bcast against recdoubling and rabenseifner: np 4: 4 KiB 140/125/225,
// 32 KiB 186/206/292, 64 KiB 299/407/354, 256 KiB 867/955/1030, 1 MiB
// 2950/2771/2673, 4 MiB 10082/14652/10157; np 8: 8 B 253/274/521, 4 KiB
// 258/314/539, 64 KiB 615/1170/1112, 1 MiB 6005/8578/6727, 4 MiB
// 23659/45498/25450. At np 2 it loses everywhere (64 KiB 45/31/30). With
// the binomial Reduce's receives posted at once, np 8 against recdoubling
// (7 rounds): 8 B 189/223, 256 B 261/334, 2 KiB 262/384, so np > 4 takes
// reduce_bcast at every size below allreduceLarge.
//
// Reduce after the binomial tree posted its receives at once (5 rounds,
// load average 3-4, binomial/rabenseifner): np 4 1 MiB 4102/4723, 2 MiB
// 7516/6500, 4 MiB 13082/12450; np 8 1 MiB 6757/8273, 2 MiB 12914/11810,
// 4 MiB 29861/24679; so reduceLarge moved from 1 MiB to 2 MiB.
const (
	bcastPipelineP2 = 2 << 20  // np 2: binomial below, pipeline from here
	bcastLarge      = 8 << 20  // np > 2: binomial below; from here pipeline (np <= 8) or scatter_allgather
	allreduceSmall  = 32 << 10 // np 2: recdoubling below, rabenseifner from here
	allreduceSmall4 = 16 << 10 // np 3-4: recdoubling below, reduce_bcast from here
	allreduceTree4  = 1 << 20  // np 3-4: rabenseifner from here
	allreduceLarge  = 8 << 20  // every np: ring from here (commutative ops)
	reduceLarge     = 2 << 20  // rabenseifner from here when np > 2; binomial otherwise
	allgatherSmall  = 16 << 10 // total bytes, non-power-of-two np: bruck below, ring from here (power of two: recdoubling)
	alltoallSmall   = 2 << 10  // bytes per block: bruck below (np > 2), pairwise from here
	gatherSmall     = 1 << 10  // bytes per block: binomial below, linear from here
	scatterSmall    = 2 << 10  // bytes per block: binomial below, linear from here
	reduceScatSmall = 8 << 10  // total bytes: reduce_scatterv below (np > 2), ring from here
)

func selectBcast(cfg config, p, bytes int) string {
	if cfg.alg != "" {
		return cfg.alg
	}
	switch {
	case p <= 2 && bytes < bcastPipelineP2, p > 2 && bytes < bcastLarge:
		return "binomial"
	case p <= 8:
		return "pipeline"
	}
	return "scatter_allgather"
}

func selectAllreduce(cfg config, p, bytes int, commutative bool) string {
	alg := cfg.alg
	if alg == "" {
		switch {
		case bytes >= allreduceLarge && commutative:
			alg = "ring"
		case p <= 2 && bytes < allreduceSmall,
			p > 2 && p <= 4 && bytes < allreduceSmall4:
			alg = "recdoubling"
		case p > 4 || p > 2 && bytes < allreduceTree4:
			alg = "reduce_bcast"
		default:
			alg = "rabenseifner"
		}
	}
	if alg == "ring" && !commutative {
		alg = "rabenseifner"
	}
	return alg
}

func selectReduce(cfg config, p, bytes int) string {
	if cfg.alg != "" {
		return cfg.alg
	}
	if bytes >= reduceLarge && p > 2 {
		return "rabenseifner"
	}
	return "binomial"
}

func selectAllgather(cfg config, p, total int) string {
	alg := cfg.alg
	if alg == "" {
		switch {
		case isPow2(p):
			alg = "recdoubling"
		case total >= allgatherSmall:
			alg = "ring"
		default:
			alg = "bruck"
		}
	}
	if alg == "recdoubling" && !isPow2(p) {
		alg = "bruck"
	}
	return alg
}

func selectAlltoall(cfg config, p, blockBytes int) string {
	if cfg.alg != "" {
		return cfg.alg
	}
	if blockBytes < alltoallSmall && p > 2 {
		return "bruck"
	}
	return "pairwise"
}

func selectGather(cfg config, p, blockBytes int) string {
	if cfg.alg != "" {
		return cfg.alg
	}
	if blockBytes < gatherSmall {
		return "binomial"
	}
	return "linear"
}

func selectScatter(cfg config, p, blockBytes int) string {
	if cfg.alg != "" {
		return cfg.alg
	}
	if blockBytes < scatterSmall {
		return "binomial"
	}
	return "linear"
}

func selectReduceScatter(cfg config, p, total int, commutative bool) string {
	alg := cfg.alg
	if alg == "" {
		alg = "ring"
		if total < reduceScatSmall && p > 2 {
			alg = "reduce_scatterv"
		}
	}
	if alg == "ring" && !commutative {
		alg = "reduce_scatterv"
	}
	return alg
}
