package collectives

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"reflect"
	"slices"
	"strings"

	"github.com/gorun-hpc/gorun/comm"
)

// ErrMismatch reports a collective call whose ranks disagree: a message of
// another size than the call expects (a count, block size or element size
// that differs between ranks), or, with checking on (see "Checked
// collectives" in the package documentation), any difference in the
// call's kind, root, count, element type, operation, forced algorithm or
// segment size, or in the communicator's sequence of collectives.
var ErrMismatch = errors.New("collectives: ranks disagree on a collective call")

// checkTag is where the tags of the check exchanges on a communicator's
// collective view start: above every tag comm.Collective hands out (at
// most (2^20-1)·StepsPerCollective + StepsPerCollective-1 < 2^30), so a
// check message can match only another check. The check of the call with
// sequence number s uses checkTag + (s mod 2^20)·StepsPerCollective on, as
// the calls themselves do below 2^30: a check abandoned on one rank (its
// ctx ended) leaves nothing that a later check could take for its own.
const checkTag = 1 << 30

// callKind names the collective a check describes.
type callKind int64

const (
	kBarrier callKind = iota + 1
	kBcast
	kReduce
	kAllreduce
	kAllgather
	kAllgatherv
	kAlltoall
	kAlltoallv
	kGather
	kGatherv
	kScatter
	kScatterv
	kReduceScatter
	kScan
	kExscan
	kReduceValue
	kNeighborAllgather
	kNeighborAllgatherv
	kNeighborAlltoall
	kNeighborAlltoallv
	kSparseExchange
	kSplit
	kindEnd
)

var kindNames = [kindEnd]string{"?", "Barrier", "Bcast", "Reduce", "Allreduce", "Allgather", "Allgatherv",
	"Alltoall", "Alltoallv", "Gather", "Gatherv", "Scatter", "Scatterv", "ReduceScatter", "Scan", "Exscan",
	"ReduceValue", "NeighborAllgather", "NeighborAllgatherv", "NeighborAlltoall", "NeighborAlltoallv",
	"SparseExchange", "Split"}

// kindNamed returns the kind called name.
func kindNamed(name string) callKind {
	if i := slices.Index(kindNames[:], name); i > 0 {
		return callKind(i)
	}
	return 0
}

func (k callKind) String() string {
	if k > 0 && k < kindEnd {
		return kindNames[k]
	}
	return fmt.Sprintf("collective kind %d", int64(k))
}

// call is what a rank's collective call must agree on with the other
// ranks' calls. A field left at its zero value (root and count -1, counts
// nil, no op) is one the collective does not compare.
type call struct {
	kind   callKind
	root   int
	count  int   // the length every rank must pass (a block for the blocked calls)
	counts []int // per-rank counts every rank passes (Allgatherv, ReduceScatter)
	op     string
	width  int
	commut bool
	hasOp  bool
	alg    string // the forced algorithm ("": the selector's)
	seg    int    // the segment size in bytes, where the algorithm uses one
	bad    bool   // the rank's arguments failed its own checks
}

// callOf starts the description of a call of kind k with options cfg.
func callOf(k callKind, cfg config) call {
	return call{kind: k, root: -1, count: -1, alg: cfg.alg, seg: cfg.seg}
}

func (k call) withOp(name string, width int, commutative bool) call {
	k.op, k.width, k.commut, k.hasOp = name, max(width, 1), commutative, true
	return k
}

// The words of a check record, the same on every rank.
const (
	wMagic = iota
	wKind
	wSeq
	wChildren
	wRoot
	wCount
	wCounts // a hash of counts; 0 for none
	wType   // reflect.Kind of the element type; 0 for none
	wSize   // element size in bytes
	wOp     // a hash of the op's name; 0 for none
	wWidth
	wCommut
	wAlg // a hash of the forced algorithm's name; 0 for none
	wSeg
	wBad
	wOpName                           // opNameWords words: the op's name, cut
	wAlgName  = wOpName + opNameWords // algNameWords words: the algorithm's name
	recWords  = wAlgName + algNameWords
	checkMark = 0x676f72756e63686b // "gorunchk"

	opNameWords  = 3
	algNameWords = 3
)

// check is the full check of a call on c (when c has checking on, and more
// than one rank): every rank's description of its call, with T its element
// type, is gathered on every rank, and any difference is an error wrapping
// ErrMismatch that names the ranks and the field, the same on every rank.
// sys is c's collective view (from c.Collective, which the call has made).
// With checking off it costs one load and a branch.
func check[T comm.Elem](ctx context.Context, c, sys *comm.Comm, k call) error {
	if !c.Checking() || c.Size() == 1 {
		return nil
	}
	return runCheck(ctx, c, sys, k, reflect.TypeFor[T]().Kind(), comm.SizeOf[T](), 0)
}

// checkBad is check for a call of kind k whose arguments failed this
// rank's own checks with err: with checking on, the rank still takes part
// in the check, marked so, and the other ranks' calls fail with
// ErrMismatch instead of waiting for it. It returns err.
func checkBad(ctx context.Context, c, sys *comm.Comm, k callKind, err error) error {
	if c.Checking() && c.Size() > 1 {
		runCheck(ctx, c, sys, call{kind: k, root: -1, count: -1, bad: true}, reflect.Invalid, 0, 0)
	}
	return err
}

// checkSplit is comm's SplitCheck: Split and Create take part in the check
// like a collective without data (the call's sequence number is the one
// its exchange of colors is about to take).
func checkSplit(ctx context.Context, c, sys *comm.Comm) error {
	if c.Size() == 1 {
		return nil
	}
	return runCheck(ctx, c, sys, call{kind: kSplit, root: -1, count: -1}, reflect.Invalid, 0, 1)
}

func init() { comm.SetSplitCheck(checkSplit) }

// runCheck exchanges the records (a Bruck allgather on the collective
// view, at the call's tags above checkTag) and compares them. seqAhead is
// added to c's sequence number, for a call that has not taken it yet.
func runCheck(ctx context.Context, c, sys *comm.Comm, k call, kind reflect.Kind, size int, seqAhead uint32) error {
	st := c.CheckState()
	st.Seq += seqAhead
	if err := ctx.Err(); err != nil {
		// Nothing is sent for a call that cannot run anyway.
		return fmt.Errorf("checking %s on %s #%d: %w", k.kind, st.Name, st.Seq, err)
	}
	p, r := c.Size(), c.Rank()
	recs := make([]int64, p*recWords)
	me := recs[r*recWords : (r+1)*recWords]
	me[wMagic] = checkMark
	me[wKind] = int64(k.kind)
	me[wSeq] = int64(st.Seq)
	me[wChildren] = int64(st.Children)
	me[wRoot] = int64(k.root)
	me[wCount] = int64(k.count)
	if k.counts != nil {
		me[wCounts] = hashInts(k.counts)
	}
	me[wType] = int64(kind)
	me[wSize] = int64(size)
	if k.hasOp {
		me[wOp] = hashString(k.op)
		me[wWidth] = int64(k.width)
		me[wCommut] = b2i(k.commut)
		putName(me[wOpName:wOpName+opNameWords], k.op)
	}
	if k.alg != "" {
		me[wAlg] = hashString(k.alg)
		putName(me[wAlgName:wAlgName+algNameWords], k.alg)
	}
	me[wBad] = b2i(k.bad)
	if k.seg > 0 && usesSegments(k.kind) {
		me[wSeg] = int64(k.seg)
	}
	base := checkTag + int(st.Seq%(1<<20))*comm.StepsPerCollective
	if err := allgatherBruck(ctx, sys, base, recs, recWords); err != nil {
		return fmt.Errorf("checking %s on %s #%d with the other ranks: %w", k.kind, st.Name, st.Seq, err)
	}
	return compareRecords(recs, p, st.Name)
}

// usesSegments reports whether a call of kind k may depend on the segment
// size, so that ranks must agree on it: the selector may pick (or the
// caller force) a segmented algorithm for Bcast, Allreduce, Allgather(v)
// and ReduceScatter.
func usesSegments(k callKind) bool {
	switch k {
	case kBcast, kAllreduce, kAllgather, kAllgatherv, kReduceScatter:
		return true
	}
	return false
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func hashString(s string) int64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return int64(h.Sum64() | 1)
}

func hashInts(xs []int) int64 {
	h := fnv.New64a()
	var b [8]byte
	for _, x := range xs {
		for i := range b {
			b[i] = byte(uint64(x) >> (8 * i))
		}
		h.Write(b[:])
	}
	return int64(h.Sum64() | 1)
}

// putName packs the start of s into words, 8 bytes each.
func putName(words []int64, s string) {
	for i := range words {
		var w uint64
		for j := range 8 {
			if k := i*8 + j; k < len(s) {
				w |= uint64(s[k]) << (8 * j)
			}
		}
		words[i] = int64(w)
	}
}

// getName unpacks what putName packed.
func getName(words []int64) string {
	var b []byte
	for _, w := range words {
		for j := range 8 {
			if c := byte(uint64(w) >> (8 * j)); c != 0 {
				b = append(b, c)
			}
		}
	}
	return string(b)
}

// compareRecords returns nil if the p records agree, else the error that
// describes how, the same on every rank (it reads only the records).
func compareRecords(recs []int64, p int, name string) error {
	rec := func(r int) []int64 { return recs[r*recWords : (r+1)*recWords] }
	for r := range p {
		if rec(r)[wMagic] != checkMark {
			return fmt.Errorf("rank %d sent no check record (is GORUN_CHECK the same on every rank?): %w", r, ErrMismatch)
		}
	}
	head := rec(0)
	where := fmt.Sprintf("%s on %s #%d", callKind(head[wKind]), name, head[wSeq])
	var diffs []string
	field := func(words func(r int) string, verb string, note ...string) {
		if d := describe(p, words, verb); d != "" {
			diffs = append(diffs, d+strings.Join(note, ""))
		}
	}
	num := func(w int) func(int) string {
		return func(r int) string { return fmt.Sprint(rec(r)[w]) }
	}
	field(num(wSeq), "is at collective #%s", " on "+name+" (a rank skipped a collective, or went on after one failed)")
	field(num(wChildren), "has made %s Dup/Split/Create calls", " on "+name+" (they are collective: every rank makes them in the same order)")
	if d := describe(p, func(r int) string { return callKind(rec(r)[wKind]).String() }, "calls %s"); d != "" {
		// Other fields mean different things in different calls.
		diffs = append([]string{d}, diffs...)
		return fmt.Errorf("collective #%d on %s: %s: %w", head[wSeq], name, strings.Join(diffs, "; "), ErrMismatch)
	}
	if slices.ContainsFunc(bads(recs, p), func(b bool) bool { return b }) {
		// A failed rank described its call no further.
		b := bads(recs, p)
		field(func(r int) string {
			if b[r] {
				return "failed"
			}
			return "passed"
		}, "%s the argument checks", " (the failed ranks' errors say why)")
		return fmt.Errorf("%s: %s: %w", where, strings.Join(diffs, "; "), ErrMismatch)
	}
	field(num(wRoot), "has root %s")
	field(num(wCount), "has count %s")
	field(func(r int) string {
		if rec(r)[wCounts] == 0 {
			return "none"
		}
		return fmt.Sprintf("%04x", uint16(rec(r)[wCounts]))
	}, "has counts #%s (counts must be the same on every rank)")
	field(func(r int) string {
		return fmt.Sprintf("%s (%d bytes)", reflect.Kind(rec(r)[wType]), rec(r)[wSize])
	}, "has element type %s")
	field(func(r int) string {
		x := rec(r)
		if x[wOp] == 0 {
			return "none"
		}
		s := fmt.Sprintf("%q", getName(x[wOpName:wOpName+opNameWords]))
		if x[wWidth] > 1 {
			s += fmt.Sprintf(" of width %d", x[wWidth])
		}
		if x[wCommut] == 0 {
			s += " (non-commutative)"
		}
		if x[wOp] != hashString(getName(x[wOpName:wOpName+opNameWords])) { // a name longer than the record holds
			s += fmt.Sprintf(" #%04x", uint16(x[wOp]))
		}
		return s
	}, "has op %s")
	field(func(r int) string {
		x := rec(r)
		if x[wAlg] == 0 {
			return "none"
		}
		return fmt.Sprintf("%q", getName(x[wAlgName:wAlgName+algNameWords]))
	}, "forces algorithm %s")
	field(num(wSeg), "has segment size %s")
	if len(diffs) == 0 {
		return nil
	}
	return fmt.Errorf("%s: %s: %w", where, strings.Join(diffs, "; "), ErrMismatch)
}

// bads reports which records are marked as failing their argument checks.
func bads(recs []int64, p int) []bool {
	b := make([]bool, p)
	for r := range b {
		b[r] = recs[r*recWords+wBad] != 0
	}
	return b
}

// describe groups ranks by value(r) and, if there is more than one group,
// says which ranks have which value, smallest groups first ("rank 3 has
// root 1, ranks 0–2,4 have root 0"); verb has a %s for the value and is
// phrased for one rank ("has", "is", "calls"), which describe puts in
// the plural for several.
func describe(p int, value func(r int) string, verb string) string {
	groups := map[string][]int{}
	var order []string
	for r := range p {
		v := value(r)
		if _, ok := groups[v]; !ok {
			order = append(order, v)
		}
		groups[v] = append(groups[v], r)
	}
	if len(order) == 1 {
		return ""
	}
	slices.SortStableFunc(order, func(a, b string) int { return len(groups[a]) - len(groups[b]) })
	parts := make([]string, len(order))
	for i, v := range order {
		rs := groups[v]
		who, vb := "rank "+rankList(rs), verb
		if len(rs) > 1 {
			who, vb = "ranks "+rankList(rs), plural(verb)
		}
		parts[i] = who + " " + fmt.Sprintf(vb, v)
	}
	return strings.Join(parts, ", ")
}

// plural puts the leading verb of a phrase in the plural.
func plural(verb string) string {
	for _, s := range [][2]string{{"has ", "have "}, {"is ", "are "}, {"calls ", "call "}, {"forces ", "force "}} {
		if strings.HasPrefix(verb, s[0]) {
			return s[1] + verb[len(s[0]):]
		}
	}
	return verb
}

// rankList writes sorted ranks compactly: "0–2,4".
func rankList(rs []int) string {
	var b strings.Builder
	for i := 0; i < len(rs); {
		j := i
		for j+1 < len(rs) && rs[j+1] == rs[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		switch {
		case j == i:
			fmt.Fprint(&b, rs[i])
		case j == i+1:
			fmt.Fprintf(&b, "%d,%d", rs[i], rs[j])
		default:
			fmt.Fprintf(&b, "%d–%d", rs[i], rs[j])
		}
		i = j + 1
	}
	return b.String()
}
