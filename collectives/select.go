package collectives

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gorun-hpc/gorun/comm"
)

// Option tunes one collective call.
type Option func(*config)

type config struct {
	alg     string
	seg     int
	inPlace bool
}

// WithAlgorithm forces the algorithm of the collective it is passed to, by
// name (see Algorithms). It takes precedence over the environment variable
// GORUN_COLL_<COLLECTIVE> (e.g. GORUN_COLL_ALLREDUCE=ring), which is read
// once, at the process's first collective call. An unknown name, given
// here or in the variable, makes the call return an error wrapping
// comm.ErrInvalidArgument (on every rank that has it, before any
// communication). When the forced algorithm cannot run the call (see each
// algorithm's documentation, e.g. ring with a non-commutative operation), the
// collective falls back to the one named in that documentation.
func WithAlgorithm(name string) Option {
	return func(c *config) { c.alg = name }
}

// WithSegmentSize sets the segment size in bytes of the pipelined and
// segmented algorithms (default DefaultSegmentSize; environment
// GORUN_COLL_SEGMENT, read at the first collective call). Rounded to whole
// elements, at least one; 0 means the default, and a negative size makes
// the call return an error wrapping comm.ErrInvalidArgument.
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
	"barrier":       {"dissemination", "tree"},
	"bcast":         {"binomial", "scatter_allgather", "pipeline", "linear"},
	"reduce":        {"binomial", "rabenseifner"},
	"allreduce":     {"recdoubling", "rabenseifner", "ring", "reduce_bcast"},
	"allgather":     {"recdoubling", "bruck", "ring"},
	"allgatherv":    {"ring"},
	"alltoall":      {"bruck", "pairwise", "linear"},
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

// configs holds the *config that setup hands to options.
var configs = sync.Pool{New: func() any { return new(config) }}

// setup applies the environment and opts for collective coll. An unknown
// algorithm name or a negative segment size is an error wrapping
// comm.ErrInvalidArgument.
func setup(coll string, opts []Option) (config, error) {
	e := env.Load()
	if e == nil {
		e = loadEnv()
	}
	cfg := config{alg: e.alg[coll], seg: e.seg}
	if len(opts) > 0 {
		// The options see a pooled copy, so that cfg itself stays on the
		// stack and a call with options allocates nothing.
		c := configs.Get().(*config)
		*c = cfg
		for _, o := range opts {
			o(c)
		}
		cfg = *c
		*c = config{}
		configs.Put(c)
	}
	if cfg.alg != "" && !slices.Contains(algorithms[coll], cfg.alg) {
		return cfg, fmt.Errorf("unknown algorithm %q (have %s; WithAlgorithm or GORUN_COLL_%s): %w",
			cfg.alg, strings.Join(algorithms[coll], ", "), strings.ToUpper(coll), comm.ErrInvalidArgument)
	}
	if cfg.seg < 0 {
		return cfg, fmt.Errorf("segment size %d is negative: %w", cfg.seg, comm.ErrInvalidArgument)
	}
	if cfg.seg == 0 {
		cfg.seg = DefaultSegmentSize
	}
	return cfg, nil
}

// segElems is the segment size in elements of esize bytes each.
func (cfg config) segElems(esize int) int {
	return max(cfg.seg/esize, 1)
}

// Selector thresholds, in bytes, measured on the project's 2-core VM with
// scripts/crossovers.sh (bench/coll with every algorithm forced, np 2, 3,
// 4, 5 and 8 in turn, 5 rounds, medians; bench/coll/README.md has the
// tables, results/crossover4*.txt the full output). On this machine the
// CPU, not a link, is the bottleneck (np > 2 oversubscribes 2 cores), so
// algorithms that send fewer messages in fewer rounds win longer than on a
// real network.
//
// Where logarithmic algorithms save no rounds (np 3: Bruck and recursive
// halving take 2 rounds, like a ring or pairwise exchange), the linear
// ones win at every size: np 3 Allgather ring against Bruck at 512 B
// blocks 16.8/19.0 µs, 2 KiB 18.4/23.6; Alltoall pairwise against Bruck
// at 1 KiB 18.7/24.1, 2 KiB 20.0/28.5. Rabenseifner's reductions pay a
// fold for a non-power-of-two np: Reduce at 2 MiB, binomial against
// rabenseifner, np 3 1781/2718, np 5 3231/4581 (np 8 7143/6104).
//
// The pipeline Bcast (a chain) is not chosen for small messages although
// it is the fastest in back-to-back calls (np 8, 8 B: 7.3 against
// binomial's 7.7 µs; np 5: 4.8 against 7.6): successive calls overlap
// along the chain, but a single call has p-1 hops instead of log2 p.
// bench/coll -osu (OSU's method: each call timed alone, a Barrier
// between), medians of 8 runs: np 8 27 against 46 µs, np 4 12.7 against
// 13.3.
const (
	allreduceSmall  = 1 << 20   // np 2: recdoubling below, rabenseifner from here
	allreduceSmall4 = 16 << 10  // np 3-4: recdoubling below, reduce_bcast from here
	allreduceTree3  = 1 << 20   // np 3: rabenseifner from here
	allreduceTree4  = 96 << 10  // np 4: rabenseifner from here
	allreduceTree   = 2 << 20   // np > 4: reduce_bcast below, rabenseifner from here
	allreduceMid8   = 128 << 10 // power-of-two np >= 8: rabenseifner from here ...
	allreduceMid8Hi = 256 << 10 // ... to here (then as for other np > 4)
	allgatherSmall  = 32 << 10  // total bytes, non-power-of-two np > 3: bruck below, ring from here
	alltoallSmall   = 4 << 10   // bytes per block, np 4-7: bruck below, linear from here
	alltoallSmall8  = 8 << 10   // the same for np >= 8
	alltoallLarge   = 512 << 10 // bytes per block: linear below (above Bruck's range), pairwise from here
	gatherSmall     = 1 << 10   // bytes per block: binomial below, linear from here
	scatterSmall    = 2 << 10   // bytes per block: binomial below, linear from here
	reduceScatSmall = 16 << 10  // bytes per result block (average), np > 2: reduce_scatterv below, ring from here
)

// selectBcast: binomial.
//
// Linear (the root sends to everyone) trades the two ways of measuring
// against binomial: OSU's method (bench/coll -osu: each call timed alone,
// a Barrier between) favours it at np 4-6, where every forwarding hop
// waits for its rank to be scheduled, and back-to-back calls, where the
// root's p-1 sends are the bottleneck, favour binomial. 5 rounds, medians,
// µs, binomial/linear: OSU np 4 8 B 8.8/6.1, 8 KiB 14.2/9.8; np 5 8 B
// 18.4/13.3; np 6 8 B 20.7/16.2; np 8 8 B 29.7/19.7; back to back np 4
// 8 B 5.3/6.8, np 5 7.2/9.7, np 6 7.5/11.7, np 8 8.7/16.5. 15 alternating
// runs at np 4, 8 B: OSU 12.1/8.4, back to back 4.20/7.18. The loss is
// larger than the gain at np 4 and from np 6, and about even at np 5, so
// linear runs only when forced.
//
// At np 2 binomial (one message) and the pipeline tied within 10 % from
// 64 KiB to 2 MiB, and the pipeline won from 4 MiB (691 and 2941 µs at 4
// and 16 MiB against binomial's 823 and 3228) until links between ranks
// of one host went to reno congestion control (comm's Config.Congestion);
// since then binomial wins there too (5 rounds, medians: 2 MiB 233
// against 332, 4 MiB 482 against 681; results/crossover5.txt). At np 3-8
// binomial wins at every size measured,
// up to 16 MiB: np 4 at 4, 8, 16 MiB 2629, 4744, 14669 µs against the
// pipeline's 3050, 7375, 15641 and scatter_allgather's 3621, 7914, 19146;
// np 8 at 8 and 16 MiB 16620 and 35918 against 20064/20118 and
// 42317/53260. The pipeline beyond np 2 and scatter_allgather run only
// when forced.
func selectBcast(cfg config, p, bytes int) string {
	if cfg.alg != "" {
		return cfg.alg
	}
	return "binomial"
}

// selectAllreduce: ring never won here (np 4 at 4, 8, 16 MiB: 8173,
// 17483, 40951 µs against rabenseifner's 4709, 12580, 32405; np 8 20414,
// 51758, 110647 against 15239, 39130, 89798), so only WithAlgorithm or
// the environment picks it. Crossovers (µs, medians of 5 rounds):
//   - np 2, recdoubling against rabenseifner: 64 KiB 22.4/24.4, 512 KiB
//     137/146, 1 MiB 321/292, 2 MiB 726/632.
//   - np 3-4: recdoubling wins to 16 KiB (np 4: 35.6 against reduce_bcast's
//     36.1), ties reduce_bcast at 32-64 KiB. np 4 rabenseifner against
//     reduce_bcast: 128 KiB 139/174, 256 KiB 281/285, 1 MiB 1272/1499;
//     np 3 loses to reduce_bcast up to 512 KiB (128 KiB 127/114, 512 KiB
//     379/366) and wins at 2 MiB (2209/2833).
//   - np > 4: reduce_bcast (np 8, 8 B 53.5 against recdoubling's 58.5; 64
//     KiB 172 against 288) until rabenseifner wins at 2-4 MiB (np 8 2 MiB
//     7020/10487, 4 MiB 14368/18926; np 5 4 MiB 12222/13498).
//
// With reno on links within a host (comm's Config.Congestion; the runs
// above had the host's BBR). results/crossover5*.txt (5 rounds, medians,
// µs, rabenseifner against reduce_bcast) had reno set after connecting,
// which kept BBR's pacing; results/crossover6.txt has reno from the start:
//   - np 4: rabenseifner from 128 KiB (122.3 against 152.8; 64 KiB is a
//     three-way tie, recdoubling 74.2, rabenseifner 75.7, reduce_bcast
//     76.2). The threshold stays at 64 KiB, where the earlier runs had
//     rabenseifner ahead.
//   - np 8: rabenseifner ahead only at 128 KiB (375.5 against 435.5); at
//     64 KiB reduce_bcast (193.8 against 227.3), at 256-512 KiB and 1 MiB
//     the two within 4 %. The window below is 128-256 KiB.
//
// The runs with paced reno:
//   - np 4: rabenseifner from 64 KiB (72.1/83.6 and 79.0/81.0 in two runs;
//     128 KiB 116.8/153.6), no longer from 128 KiB.
//   - np 8: rabenseifner at 64-128 KiB (232.6/383.0, 221.5/313.9; 128 KiB
//     471/570), reduce_bcast at 256-512 KiB (993/713, 1608/1277). At 1
//     MiB the two tie in these runs (2430/2590, 2356/2376), where every
//     algorithm runs in turn at each size. Called after the smaller sizes
//     only, as the comparison with Open MPI calls it, rabenseifner was
//     the slower (7 rounds: 3451 against 2619). It depends on what its
//     links carried before: single runs took 2300-2600 µs after 4 MiB
//     calls, 3150-3550 after 64 KiB calls or none. So reduce_bcast stays
//     below 2 MiB.
//     Other np > 4 keep reduce_bcast below 2 MiB: np 5, 6 and 7 at 64
//     KiB 113/107, 171/160, 238/225; at 1 MiB 1505/1474, 1813/1734,
//     2001/2110. The np 8 window is applied to every power of two from 8
//     (the fold step that Rabenseifner adds for other np is what it loses
//     there); beyond 8 it is not measured on this machine.
//
// Since the launcher binds np 4 and 8 on 2 cores two or four consecutive
// ranks a core (results/crossover7.txt, 5 rounds): np 4 reduce_bcast ahead
// at 64 KiB again (65.1 against rabenseifner's 71.4; 9 single runs
// each way, rabenseifner/reduce_bcast, 68-73/62-69 back to back and 69-81/
// 54-56 by OSU's method), rabenseifner at 96 KiB (78-99/115-128) and 128
// KiB (107.9/129.9); so rabenseifner from 96 KiB. np 8 as before:
// reduce_bcast below 2 MiB except at 128 KiB (319.4 against 348.8).
func selectAllreduce(cfg config, p, bytes int, commutative bool) string {
	alg := cfg.alg
	if alg == "" {
		switch {
		case p <= 2 && bytes < allreduceSmall,
			p <= 4 && bytes < allreduceSmall4:
			alg = "recdoubling"
		case p >= 8 && p&(p-1) == 0 && bytes >= allreduceMid8 && bytes < allreduceMid8Hi:
			alg = "rabenseifner"
		case p == 3 && bytes < allreduceTree3,
			p == 4 && bytes < allreduceTree4,
			p > 4 && bytes < allreduceTree:
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

// selectReduce: binomial. Rabenseifner's reduce-scatter and gather won at
// 2-4 MiB at np 8 (binomial/rabenseifner 2 MiB 7143/6104, 4 MiB
// 15395/13834) until the binomial tree's leaves stopped copying their
// contribution; since then (5 rounds, medians, µs) binomial is ahead at
// every size measured: np 8 2 MiB 4196/4548, 4 MiB 9868/11115; np 4 ties
// at 2 MiB (1824/1822) and leads at 4 MiB (3409/4439); np 3 and 5 lead by
// 40-100 %. Rabenseifner runs only when forced.
func selectReduce(cfg config, p, bytes int) string {
	if cfg.alg != "" {
		return cfg.alg
	}
	return "binomial"
}

// selectAllgather: recursive doubling for a power-of-two np; ring at np 3;
// else Bruck until ring wins (np 5: 10 KiB in total 55.4/59.3, 40 KiB
// 98.3/74.6; np 6 and 7 still Bruck at 24 and 28 KiB: 79.3/92.3,
// 114/132).
func selectAllgather(cfg config, p, total int) string {
	alg := cfg.alg
	if alg == "" {
		switch {
		case isPow2(p):
			alg = "recdoubling"
		case p == 3 || total >= allgatherSmall:
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

// selectAlltoall: Bruck for small blocks from np 4, then linear (every
// message posted at once), then pairwise. At np 3 Bruck saves no round.
//
// With reno on links within a host from the start (comm's
// Config.Congestion; results/crossover6.txt, 5 rounds, medians, µs),
// linear against pairwise: np 8 64 KiB 633/744, 256 KiB 2068/2137, 512
// KiB 4875/4295; np 4 256 KiB 432/456, 512 KiB 813/799. So pairwise from
// 512 KiB, as with BBR. (With reno set after connecting, which kept BBR's
// pacing, pairwise had won from 64 KiB; results/crossover5-alltoall.txt.)
// Bruck against linear (crossover5-alltoall.txt, crossover6.txt): np 4 2
// KiB 22.7/26.9, 8 KiB 36.1/33.6; np 8 2 KiB 84.5/119.2, 8 KiB 188.6/174.0.
//
// Paced reno (results/crossover5-alltoall.txt): Bruck against
// linear np 4 2 KiB 23.2/27.4, 4 KiB 27.0/29.4, 8 KiB 37.1/33.9; np 5 2
// KiB 48.3/51.6, 4 KiB 57.7/56.1; np 8 4 KiB 118.5/134.3, 8 KiB
// 190.2/169.1. Linear against pairwise: np 4 32 KiB 61.7/65.6, 64 KiB
// 207/123; np 5 32 KiB 134.3/133.6, 64 KiB 528/505; np 8 64 KiB
// 1437/1503 (a tie), 128 KiB 2057/1937, 256 KiB 3422/2864. Before that
// change (BBR, this host's default) linear won up to 256 KiB (np 8 64
// KiB 654/737, 256 KiB 2231/2311) and Bruck only below 2 KiB (4 KiB from
// np 8); np 3 linear against pairwise 512 B 16.9/18.1, 1 MiB 1423/1035.
//
// Paced reno had cost Alltoall at np 8: 1499-1675 µs at 64 KiB against
// BBR's 647-725 (single runs); reno from the start took 770.
func selectAlltoall(cfg config, p, blockBytes int) string {
	if cfg.alg != "" {
		return cfg.alg
	}
	switch {
	case p >= 4 && (blockBytes < alltoallSmall || p >= 8 && blockBytes < alltoallSmall8):
		return "bruck"
	case blockBytes < alltoallLarge:
		return "linear"
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

// selectReduceScatter: Reduce then Scatterv for small blocks (np 5,
// against ring: 8 KiB blocks 82.8/106, 12 KiB 100/124, 16 KiB 163/145;
// np 8 ties from 12 KiB), ring above.
func selectReduceScatter(cfg config, p, total int, commutative bool) string {
	alg := cfg.alg
	if alg == "" {
		alg = "ring"
		if p > 2 && total < reduceScatSmall*p {
			alg = "reduce_scatterv"
		}
	}
	if alg == "ring" && !commutative {
		alg = "reduce_scatterv"
	}
	return alg
}

// selectBarrier: dissemination at np 2, tree from np 3. bench/coll -alg
// all -coll barrier, 7 runs each (µs, dissemination/tree, medians; back to
// back, then OSU's method), ranks unbound: np 2 3.85/6.85, 4.06/8.42; np 3
// 17.0/13.3, 17.0/16.1; np 4 18.4/20.4, 18.4/20.0; np 5 39.3/28.0,
// 38.3/29.1; np 6 44.0/33.0, 43.0/35.5; np 8 59.6/55.2, 59.1/53.0. With
// the launcher's default binding of np 4 and 8 on 2 cores (two or four
// consecutive ranks a core) the tree leads at np 4 too: 18.5/15.7 back to
// back, 18.2/18.2 by OSU's method, and a loop of Bcast and Barrier took
// 27/22 µs an iteration; np 8 58.2/40.7, 51.7/40.7.
func selectBarrier(cfg config, p int) string {
	if cfg.alg != "" {
		return cfg.alg
	}
	if p >= 3 {
		return "tree"
	}
	return "dissemination"
}
