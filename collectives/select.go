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
	async   int8 // WithAsyncProgress: 1 on, -1 off, 0 the communicator's setting
	nb      bool // a non-blocking collective's (on a duplicate of its own): no shared algorithm
}

// nonBlocking marks the calls of the non-blocking collectives (icoll.go).
func nonBlocking(c *config) { c.nb = true }

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

// algorithm is the name of an algorithm of a collective, as WithAlgorithm,
// the GORUN_COLL_<COLLECTIVE> variables and Algorithms spell it.
type algorithm string

// The algorithms; each is one file, <collective>_<name>.go.
const (
	algBinomial         algorithm = "binomial"
	algLinear           algorithm = "linear"
	algPipeline         algorithm = "pipeline"
	algScatterAllgather algorithm = "scatter_allgather"
	algRecDoubling      algorithm = "recdoubling"
	algRabenseifner     algorithm = "rabenseifner"
	algRing             algorithm = "ring"
	algReduceBcast      algorithm = "reduce_bcast"
	algReduceScatterv   algorithm = "reduce_scatterv"
	algBruck            algorithm = "bruck"
	algPairwise         algorithm = "pairwise"
	algDissemination    algorithm = "dissemination"
	algTree             algorithm = "tree"
	algHierarchical     algorithm = "hierarchical"
	algShared           algorithm = "shared"
)

// algorithms is the one list of names: the algorithms of every collective,
// keyed by the collective's name as used by Algorithms, WithAlgorithm's
// environment variables (GORUN_COLL_ + upper-case name) and the benchmark.
var algorithms = map[string][]algorithm{
	"barrier":       {algDissemination, algTree, algHierarchical, algShared},
	"bcast":         {algBinomial, algScatterAllgather, algPipeline, algLinear, algHierarchical, algShared},
	"reduce":        {algBinomial, algRabenseifner},
	"allreduce":     {algRecDoubling, algRabenseifner, algRing, algReduceBcast, algHierarchical, algShared},
	"allgather":     {algRecDoubling, algBruck, algRing},
	"allgatherv":    {algRing},
	"alltoall":      {algBruck, algPairwise, algLinear},
	"alltoallv":     {algPairwise},
	"gather":        {algBinomial, algLinear},
	"gatherv":       {algLinear},
	"scatter":       {algBinomial, algLinear},
	"scatterv":      {algLinear},
	"reducescatter": {algRing, algReduceScatterv},
	"scan":          {algRecDoubling},
	"exscan":        {algRecDoubling},
}

// Algorithms returns the algorithm names of a collective ("allreduce",
// "bcast", ...; nil for an unknown name). The first is not necessarily the
// default: the selector picks by message size and rank count.
func Algorithms(collective string) []string {
	var out []string
	for _, a := range algorithms[strings.ToLower(collective)] {
		out = append(out, string(a))
	}
	return out
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
	if err := checkAlgorithm(coll, cfg.alg); err != nil {
		return cfg, err
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

// checkAlgorithm reports a forced name that is not one of the
// collective's algorithms as an error wrapping comm.ErrInvalidArgument,
// naming the collective, the name and the valid names. The empty name
// (nothing forced) is valid.
func checkAlgorithm(coll, name string) error {
	if name == "" || slices.Contains(algorithms[coll], algorithm(name)) {
		return nil
	}
	return fmt.Errorf("unknown algorithm %q (have %s; WithAlgorithm or GORUN_COLL_%s): %w",
		name, strings.Join(Algorithms(coll), ", "), strings.ToUpper(coll), comm.ErrInvalidArgument)
}

// noDispatch is the error of a collective's dispatch for an algorithm
// name it has no case for (a name in algorithms without its code): an
// error wrapping comm.ErrInvalidArgument, never a call that does nothing.
func noDispatch(coll, alg string) error {
	return fmt.Errorf("algorithm %q of %s has no implementation: %w", alg, coll, comm.ErrInvalidArgument)
}

// ranks is a set of rank counts: min..max (max 0: no upper bound), and
// only the powers of two among them when pow2 is set.
type ranks struct {
	min, max int
	pow2     bool
}

func (r ranks) has(p int) bool {
	return p >= r.min && (r.max == 0 || p <= r.max) && (!r.pow2 || isPow2(p))
}

// sizes is a half-open range of sizes in bytes, [from, below); below 0:
// no upper bound.
type sizes struct{ from, below int }

func (s sizes) has(n int) bool { return n >= s.from && (s.below < 0 || n < s.below) }

// Shorthands for the policy table.
var (
	anyRanks = ranks{}
	anySize  = sizes{0, -1}
)

// layout is what the selector knows of how a call's ranks sit on hosts
// (from comm.Nodes): the zero value is one host, or one rank per host.
type layout struct {
	multi   bool // more than one host, and more than one rank on some host
	blocked bool // each host's ranks are consecutive ranks
	shared  bool // one host, shared memory allowed, a blocking call (the shared algorithms)
}

// hostsCond is the layouts a rule holds for.
type hostsCond int8

const (
	anyHosts   hostsCond = iota
	multiHosts           // layout.multi
	oneHost              // layout.shared
)

func (h hostsCond) has(l layout) bool {
	switch h {
	case multiHosts:
		return l.multi
	case oneHost:
		return l.shared
	}
	return true
}

func ranksEq(p int) ranks                     { return ranks{min: p, max: p} }
func ranksFrom(p int) ranks                   { return ranks{min: p} }
func ranksUpTo(p int) ranks                   { return ranks{max: p} }
func sizeBelow(n int) sizes                   { return sizes{0, n} }
func sizeFrom(n int) sizes                    { return sizes{n, -1} }
func sizeIn(lo, hi int) sizes                 { return sizes{lo, hi} }
func ranksPow2From(p int) ranks               { return ranks{min: p, pow2: true} }
func when(r ranks, s sizes, a algorithm) rule { return rule{r, s, anyHosts, a} }

// onHosts is a rule for jobs over several hosts with several ranks on
// some host (see layout).
func onHosts(r ranks, s sizes, a algorithm) rule { return rule{r, s, multiHosts, a} }

// onHost is a rule for blocking calls whose ranks share one host's
// memory (see layout).
func onHost(r ranks, s sizes, a algorithm) rule { return rule{r, s, oneHost, a} }

// rule: the algorithm for rank counts in ranks, sizes in sizes and
// layouts in hosts.
type rule struct {
	ranks ranks
	sizes sizes
	hosts hostsCond
	alg   algorithm
}

// policy is the selector: for each collective, the first row whose rank
// counts, sizes and layout hold the call picks its algorithm; every list
// ends with a row that holds every call. The size is, per collective:
//
//	bcast, reduce, allreduce   the buffer, in bytes
//	allgather                  the whole result (p blocks)
//	alltoall, gather, scatter  one block
//	reducescatter              the average result block (total / p)
//	barrier                    none
//
// The thresholds were measured on a 2-core machine with every algorithm
// forced at np 2 to 8; bench/coll/README.md gives the figures behind
// each row and the command that measures them.
//
// A job over several hosts with several ranks on some host (layout.multi)
// takes the hierarchical algorithms of Barrier, Bcast and Allreduce at
// every size: within each host, between the hosts' leaders, within each
// host again, so that only one rank per host sends between hosts.
var policy = map[string][]rule{
	"barrier": {
		onHosts(anyRanks, anySize, algHierarchical),
		onHost(anyRanks, anySize, algShared),
		when(ranksFrom(3), anySize, algTree),
		when(anyRanks, anySize, algDissemination),
	},
	"bcast": {
		onHosts(anyRanks, anySize, algHierarchical),
		onHost(anyRanks, sizeBelow(sharedSlot+1), algShared),
		when(anyRanks, anySize, algBinomial),
	},
	"reduce": {
		when(anyRanks, anySize, algBinomial),
	},
	"allreduce": {
		onHosts(anyRanks, anySize, algHierarchical),
		onHost(anyRanks, sizeBelow(sharedSlot+1), algShared),
		when(ranksUpTo(2), sizeBelow(1<<20), algRecDoubling),
		when(ranksUpTo(4), sizeBelow(16<<10), algRecDoubling),
		when(ranksPow2From(8), sizeIn(128<<10, 256<<10), algRabenseifner),
		when(ranksEq(3), sizeBelow(1<<20), algReduceBcast),
		when(ranksEq(4), sizeBelow(96<<10), algReduceBcast),
		when(ranksFrom(5), sizeBelow(2<<20), algReduceBcast),
		when(anyRanks, anySize, algRabenseifner),
	},
	"allgather": {
		when(ranks{pow2: true}, anySize, algRecDoubling),
		when(ranksEq(3), anySize, algRing),
		when(anyRanks, sizeFrom(32<<10), algRing),
		when(anyRanks, anySize, algBruck),
	},
	"alltoall": {
		when(ranksFrom(4), sizeBelow(4<<10), algBruck),
		when(ranksFrom(8), sizeBelow(8<<10), algBruck),
		when(anyRanks, sizeBelow(512<<10), algLinear),
		when(anyRanks, anySize, algPairwise),
	},
	"gather": {
		when(anyRanks, sizeBelow(1<<10), algBinomial),
		when(anyRanks, anySize, algLinear),
	},
	"scatter": {
		when(anyRanks, sizeBelow(2<<10), algBinomial),
		when(anyRanks, anySize, algLinear),
	},
	"reducescatter": {
		when(ranksFrom(3), sizeBelow(16<<10), algReduceScatterv),
		when(anyRanks, anySize, algRing),
	},
	"allgatherv": {when(anyRanks, anySize, algRing)},
	"alltoallv":  {when(anyRanks, anySize, algPairwise)},
	"gatherv":    {when(anyRanks, anySize, algLinear)},
	"scatterv":   {when(anyRanks, anySize, algLinear)},
	"scan":       {when(anyRanks, anySize, algRecDoubling)},
	"exscan":     {when(anyRanks, anySize, algRecDoubling)},
}

// algNeed is what an algorithm requires of a call.
type algNeed int

const (
	needCommutative algNeed = iota // a commutative operation
	needPow2                       // a power-of-two rank count
	needRankOrder                  // a commutative operation, or each host's ranks consecutive (layout.blocked)
	needShared                     // layout.shared, and at most sharedSlot bytes
)

// fallback: when a call does not meet what alg needs, use runs instead,
// whether alg was chosen or forced (each collective documents it).
type fallback struct {
	alg  algorithm
	need algNeed
	use  algorithm
}

var fallbacks = map[string][]fallback{
	"barrier":       {{algShared, needShared, algDissemination}},
	"bcast":         {{algShared, needShared, algBinomial}},
	"allreduce":     {{algRing, needCommutative, algRabenseifner}, {algHierarchical, needRankOrder, algRabenseifner}, {algShared, needShared, algRecDoubling}},
	"allgather":     {{algRecDoubling, needPow2, algBruck}},
	"reducescatter": {{algRing, needCommutative, algReduceScatterv}},
}

// chooseAlgorithm returns the algorithm of a call of coll at p ranks, of size
// bytes (as policy measures it), with a commutative operation or not, on
// hosts laid out as lay: the forced one if any, else the policy's, then
// its fallback if the call does not meet its needs. It panics for a
// collective without a policy, which is a bug of this package
// (TestPolicyTable checks every list).
func chooseAlgorithm(coll string, cfg config, p, size int, commutative bool, lay layout) algorithm {
	alg := algorithm(cfg.alg)
	if alg == "" {
		alg = policyPick(coll, p, size, lay)
	}
	for _, f := range fallbacks[coll] {
		if f.alg != alg {
			continue
		}
		if f.need == needCommutative && !commutative || f.need == needPow2 && !isPow2(p) ||
			f.need == needRankOrder && !commutative && !lay.blocked ||
			f.need == needShared && (!lay.shared || size > sharedSlot) {
			alg = f.use
		}
	}
	return alg
}

// policyPick returns the policy's algorithm for coll at p ranks and size
// bytes on hosts laid out as lay.
func policyPick(coll string, p, size int, lay layout) algorithm {
	for _, c := range policy[coll] {
		if c.ranks.has(p) && c.sizes.has(size) && c.hosts.has(lay) {
			return c.alg
		}
	}
	panic(fmt.Sprintf("collectives: no algorithm for %s at np %d, %d bytes", coll, p, size))
}

// The selectors the collectives call: each returns the algorithm's name,
// the case label of the collective's dispatch (TestDispatchCoversAlgorithms
// checks that every name has one).

func selectBarrier(cfg config, p int, lay layout) string {
	return string(chooseAlgorithm("barrier", cfg, p, 0, true, lay))
}

func selectBcast(cfg config, p, bytes int, lay layout) string {
	return string(chooseAlgorithm("bcast", cfg, p, bytes, true, lay))
}

func selectReduce(cfg config, p, bytes int) string {
	return string(chooseAlgorithm("reduce", cfg, p, bytes, true, layout{}))
}

func selectAllreduce(cfg config, p, bytes int, commutative bool, lay layout) string {
	return string(chooseAlgorithm("allreduce", cfg, p, bytes, commutative, lay))
}

// selectAllgather takes the size of the whole result.
func selectAllgather(cfg config, p, total int) string {
	return string(chooseAlgorithm("allgather", cfg, p, total, true, layout{}))
}

func selectAlltoall(cfg config, p, blockBytes int) string {
	return string(chooseAlgorithm("alltoall", cfg, p, blockBytes, true, layout{}))
}

func selectGather(cfg config, p, blockBytes int) string {
	return string(chooseAlgorithm("gather", cfg, p, blockBytes, true, layout{}))
}

func selectScatter(cfg config, p, blockBytes int) string {
	return string(chooseAlgorithm("scatter", cfg, p, blockBytes, true, layout{}))
}

// selectReduceScatter takes the size of the whole input; the policy reads
// the average result block.
func selectReduceScatter(cfg config, p, total int, commutative bool) string {
	return string(chooseAlgorithm("reducescatter", cfg, p, total/max(p, 1), commutative, layout{}))
}
