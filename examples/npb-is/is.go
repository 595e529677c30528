package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"time"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/examples/internal/npb"
)

// is.c's constants.
const (
	maxIterations = 10
	testArraySize = 5
	minProcs      = 1
	seed          = 314159265.0
	maxBuckets    = 1 << 10 // the largest NUM_BUCKETS of the classes here
)

type isClass struct {
	totalKeysLog2, maxKeyLog2, numBucketsLog2 int
	testIndex, testRank                       [testArraySize]int32
	hasRef                                    bool
}

var classes = map[byte]isClass{
	'S': {16, 11, 9, [5]int32{48427, 17148, 23627, 62548, 4431}, [5]int32{0, 18, 346, 64917, 65463}, true},
	'W': {20, 16, 10, [5]int32{357773, 934767, 875723, 898999, 404505}, [5]int32{1249, 11698, 1039987, 1043896, 1048018}, true},
	'A': {23, 19, 10, [5]int32{2112377, 662041, 5336171, 3642833, 4250760}, [5]int32{104, 17523, 123928, 8288932, 8388264}, true},
	// Class B: no reference test keys are given to this port, so only the
	// full verification runs and the verdict is reported as failed.
	'B': {25, 21, 10, [5]int32{}, [5]int32{}, false},
}

// expectedRank is the rank test key i must have at iteration it: NPB's
// per-class adjustment of test_rank_array (is.c's partial verification).
func expectedRank(class byte, ref int32, i, it int) int32 {
	it32 := int32(it)
	switch class {
	case 'S':
		if i <= 2 {
			return ref + it32
		}
		return ref - it32
	case 'W':
		if i < 2 {
			return ref + it32 - 2
		}
		return ref - it32
	case 'A':
		if i <= 2 {
			return ref + it32 - 1
		}
		return ref - it32 + 1
	}
	return -1
}

// ErrRanks is returned for a rank count IS does not support.
var ErrRanks = errors.New("is: unsupported number of ranks")

// Result is what one IS run computed.
type Result struct {
	Class    byte
	Passed   int // partial checks passed plus full checks, summed over ranks
	Time     float64
	Mops     float64
	Verified bool
	// TestRanks[it-1][i] is the computed rank of test key i at iteration
	// it (-1 where this rank did not hold the key); printed for classes
	// without reference values.
	TestRanks [][testArraySize]int32
}

type sorter struct {
	ctx                 context.Context
	c                   *comm.Comm
	class               byte
	cl                  isClass
	np, me              int
	numKeys             int // keys per rank
	maxKey              int
	numBuckets          int
	shift               uint
	keyArray            []int32
	keyBuff1            []int32 // bucket-sorted keys to send
	keyBuff2            []int32 // receive buffer
	recvd               []int32 // the keys this rank ranks (received)
	counts              []int32 // key populations, then cumulative ranks
	bucketSize          []int32 // NUM_BUCKETS + TEST_ARRAY_SIZE
	bucketTotals        []int32
	firstKey            [maxBuckets + 1]int64
	hist                [2][maxBuckets]int32
	sendCount, sendDisp []int
	recvCount, recvDisp []int
	ptr1, ptr2          []int
	one, oneRecv        []int32
	passed              int
	// state of the last ranking, for full verification
	minKey, maxKeyOwned, lesser int
	testRanks                   [testArraySize]int32
}

func newSorter(ctx context.Context, c *comm.Comm, class byte, cl isClass) (*sorter, error) {
	np := c.Size()
	nb := 1 << cl.numBucketsLog2
	if np&(np-1) != 0 || np > nb {
		return nil, fmt.Errorf("%w: %d (IS needs a power of two, at most %d for this class)", ErrRanks, np, nb)
	}
	s := &sorter{ctx: ctx, c: c, class: class, cl: cl, np: np, me: c.Rank(),
		numKeys: (1 << cl.totalKeysLog2) / np * minProcs, maxKey: 1 << cl.maxKeyLog2,
		numBuckets: nb, shift: uint(cl.maxKeyLog2 - cl.numBucketsLog2)}
	s.keyArray = make([]int32, s.numKeys)
	s.keyBuff1 = make([]int32, s.numKeys+1) // compactOutside writes one past what it keeps
	s.keyBuff2 = make([]int32, s.numKeys*3/2)
	s.counts = make([]int32, s.maxKey)
	s.bucketSize = make([]int32, nb+testArraySize)
	s.bucketTotals = make([]int32, nb+testArraySize)
	s.sendCount, s.sendDisp = make([]int, np), make([]int, np)
	s.recvCount, s.recvDisp = make([]int, np), make([]int, np)
	s.ptr1, s.ptr2 = make([]int, np), make([]int, np)
	s.one, s.oneRecv = make([]int32, np), make([]int32, np)
	return s, nil
}

// findMySeed returns the seed of rank kn's part of a stream of nn numbers
// split over np ranks (is.c's find_my_seed): s * a^(4*ceil(nn/4/np)*kn).
func findMySeed(kn, np int, nn int64, s, a float64) float64 {
	if kn == 0 {
		return s
	}
	mq := (nn/4 + int64(np) - 1) / int64(np)
	return npb.Skip(s, a, uint64(mq*4*int64(kn)))
}

// createSeq generates the rank's keys (is.c's create_seq): each key is
// int(MAX_KEY/4 * (r1+r2+r3+r4)) of four consecutive numbers.
func (s *sorter) createSeq(seed float64) {
	k := float64(s.maxKey / 4)
	x := uint64(seed)
	const a = uint64(npb.A)
	keys := s.keyArray
	for i := range keys {
		x = (x * a) & npb.Mask46
		r := float64(x) * npb.R46
		x = (x * a) & npb.Mask46
		r += float64(x) * npb.R46
		x = (x * a) & npb.Mask46
		r += float64(x) * npb.R46
		x = (x * a) & npb.Mask46
		r += float64(x) * npb.R46
		keys[i] = int32(k * r)
	}
}

// rank ranks the keys once (is.c's rank): bucket them locally, agree on
// the redistribution of buckets from the global bucket sizes, exchange the
// keys with Alltoallv, count key populations and accumulate them into
// ranks, and run the partial verification.
func (s *sorter) rank(iteration int) error {
	nb := s.numBuckets
	shift := s.shift
	if s.me == 0 {
		s.keyArray[iteration] = int32(iteration)
		s.keyArray[iteration+maxIterations] = int32(s.maxKey - iteration)
	}
	bs := s.bucketSize
	clear(bs)
	// The test keys' values travel hidden in the top of bucket_size.
	for i, idx := range s.cl.testIndex {
		if s.cl.hasRef && int(idx)/s.numKeys == s.me {
			bs[nb+i] = s.keyArray[int(idx)%s.numKeys]
		}
	}
	keys := s.keyArray
	// Bucket histogram, and the population of every key value this rank
	// holds: the populations of its own range (known only after the
	// Allreduce below) are then already counted, so its own keys need not
	// be copied to itself or read again.
	clear(s.hist[:])
	s.histCount(keys)
	h := &s.hist
	bsb := bs[:nb]
	for b := range bsb {
		bsb[b] = h[0][b] + h[1][b]
	}
	tot := s.bucketTotals
	copy(tot, bs)
	if err := npb.AllreduceSum(s.ctx, s.c, tot); err != nil {
		return err
	}

	// Buckets go to ranks in order, each rank taking buckets until the
	// running total passes (j+1)*NUM_KEYS.
	var acc int64
	local := 0
	j := 0
	s.sendDisp[0] = 0
	s.ptr1[0] = 0
	for i := 0; i < nb; i++ {
		acc += int64(tot[i])
		local += int(bs[i])
		if j < s.np && acc >= int64(j+1)*int64(s.numKeys) {
			s.sendCount[j] = local
			if j != 0 {
				s.sendDisp[j] = s.sendDisp[j-1] + s.sendCount[j-1]
				s.ptr1[j] = s.ptr2[j-1] + 1
			}
			s.ptr2[j] = i
			j++
			local = 0
		}
	}
	for ; j < s.np; j++ {
		s.sendCount[j] = 0
		s.sendDisp[j] = len(keys)
		s.ptr1[j] = 1
		s.ptr2[j] = 0
	}

	minKey := s.ptr1[s.me] << shift
	maxKey := ((s.ptr2[s.me] + 1) << shift) - 1

	// Send every other rank its keys. NPB sorts the keys into all
	// NUM_BUCKETS buckets here and sends each rank its buckets, this rank
	// included; the receiver only counts the keys it gets, so their order
	// within a block does not matter: two ranks compact the keys for the
	// other one, more group them by destination in log2(np) two-way
	// passes. A rank's own keys were counted above and stay where they
	// are (a world of one exchanges nothing).
	s.recvd = nil
	if s.np > 1 {
		if s.np == 2 {
			other := 1 - s.me
			lo, hi := int64(minKey), int64(maxKey)+1
			if hi < lo {
				hi = lo
			}
			n := compactOutside(s.keyBuff1, keys, lo, hi)
			s.sendCount[other], s.sendDisp[other] = n, 0
		} else {
			s.scatterByRank(keys)
		}
		s.sendCount[s.me] = 0
		for i, v := range s.sendCount {
			s.one[i] = int32(v)
		}
		if err := collectives.Alltoall(s.ctx, s.c, s.oneRecv, s.one); err != nil {
			return err
		}
		total := 0
		for i, v := range s.oneRecv {
			s.recvCount[i] = int(v)
			s.recvDisp[i] = total
			total += int(v)
		}
		if total > len(s.keyBuff2) {
			s.keyBuff2 = make([]int32, total)
		}
		if err := collectives.Alltoallv(s.ctx, s.c, s.keyBuff2, s.recvCount, s.recvDisp, s.keyBuff1[:len(keys)], s.sendCount, s.sendDisp); err != nil {
			return err
		}
		s.recvd = s.keyBuff2[:total]
		countKeys(s.counts, s.recvd)
	}

	// Keys held by lower ranks.
	m := 0
	for k := 0; k < s.me; k++ {
		for i := s.ptr1[k]; i <= s.ptr2[k]; i++ {
			m += int(tot[i])
		}
	}
	var cnt []int32
	if maxKey >= minKey {
		cnt = s.counts[minKey : maxKey+1]
		cnt[0] += int32(m)
		for i := 1; i < len(cnt); i++ {
			cnt[i] += cnt[i-1]
		}
	}

	// Partial verification.
	for i := range testArraySize {
		s.testRanks[i] = -1
	}
	for i := range testArraySize {
		if !s.cl.hasRef {
			break
		}
		k := int(tot[nb+i])
		if k < minKey || k > maxKey {
			continue
		}
		keyRank := int32(m)
		if k-1 >= minKey {
			keyRank = cnt[k-1-minKey]
		}
		s.testRanks[i] = keyRank
		if keyRank == expectedRank(s.class, s.cl.testRank[i], i, iteration) {
			s.passed++
		} else {
			fmt.Printf("Failed partial verification: iteration %d, processor %d, test key %d\n", iteration, s.me, i)
		}
	}
	s.minKey, s.maxKeyOwned, s.lesser = minKey, maxKey, m
	return nil
}

// histCount is rank's pass over its keys: the bucket histogram (into
// hist[0] and hist[1]) and the population of each key value (into counts,
// indexed by the key itself). Two keys a step keep two histogram and two
// count increments in flight.
func (s *sorter) histCount(keys []int32) {
	h := &s.hist
	cnt := s.counts
	clear(cnt)
	shift := s.shift
	i := 0
	for ; i+2 <= len(keys); i += 2 {
		k0, k1 := keys[i], keys[i+1]
		h[0][(uint32(k0)>>shift)&(maxBuckets-1)]++
		h[1][(uint32(k1)>>shift)&(maxBuckets-1)]++
		cnt[k0]++
		cnt[k1]++
	}
	for ; i < len(keys); i++ {
		h[0][(uint32(keys[i])>>shift)&(maxBuckets-1)]++
		cnt[keys[i]]++
	}
}

// countKeys adds the keys to the populations in counts (indexed by key),
// two halves of keys at a time for independent increments in flight.
func countKeys(counts, keys []int32) {
	half := len(keys) / 2
	lo, hi := keys[:half], keys[half:2*half]
	for i, k := range lo {
		counts[k]++
		counts[hi[i]]++
	}
	if len(keys)%2 == 1 {
		counts[keys[len(keys)-1]]++
	}
}

// compactOutside copies the keys outside [lo, hi) to the front of dst and
// returns how many there are (in no particular order). Every key is written
// at the next free place, which moves on only for keys that are kept: no
// branch per key. The two halves of keys go at once, one filling dst from
// the front and one from the back, each a chain of its own (a single chain
// runs at half the speed), and the back part is then moved up to the
// front one. dst needs room for one more key than keys has.
func compactOutside(dst, keys []int32, lo, hi int64) int {
	width := uint64(hi - lo)
	half := len(keys) / 2
	a, b := keys[:half], keys[half:2*half]
	dst = dst[:len(keys)+1]
	n, m := 0, len(dst)-1
	for i, k := range a {
		k2 := b[i]
		dst[n] = k
		dst[m] = k2
		inc, inc2 := 0, 0
		if uint64(int64(k)-lo) >= width {
			inc = 1
		}
		if uint64(int64(k2)-lo) >= width {
			inc2 = 1
		}
		n += inc
		m -= inc2
	}
	if len(keys)%2 == 1 {
		k := keys[len(keys)-1]
		if uint64(int64(k)-lo) >= width {
			dst[n] = k
			n++
		}
	}
	return n + copy(dst[n:], dst[m+1:])
}

// scatterByRank copies the keys into keyBuff1 grouped by destination
// rank, at the displacements sendDisp computed from the local bucket
// sizes. Rank j owns buckets ptr1[j]..ptr2[j], so its keys form the range
// [ptr1[j]<<shift, (ptr2[j]+1)<<shift) and the groups are in key order.
// Instead of one pass that keeps a moving write pointer per rank (every key
// waits on the previous store to the same pointer), the keys are split in
// halves by rank, log2(np) branch-free two-way passes that ping-pong
// between keyBuff2 (free until the exchange) and keyBuff1, ending in
// keyBuff1.
func (s *sorter) scatterByRank(keys []int32) {
	// first[j] is the smallest key rank j owns; ranks left without
	// buckets (the tail NPB fills with empty ranges) own nothing.
	first := s.firstKey[:s.np+1]
	for j := range s.np {
		first[j] = math.MaxInt32
		if s.ptr1[j] <= s.ptr2[j] {
			first[j] = int64(s.ptr1[j]) << s.shift
		}
	}
	first[s.np] = math.MaxInt32
	passes := bits.TrailingZeros(uint(s.np))
	src := keys
	for p := 1; p <= passes; p++ {
		dst := s.keyBuff1[:len(keys)]
		if (passes-p)%2 == 1 {
			dst = s.keyBuff2[:len(keys)]
		}
		// Groups of 2^(passes-p+1) ranks, each split at its middle rank.
		width := s.np >> (p - 1)
		for r0 := 0; r0 < s.np; r0 += width {
			mid := r0 + width/2
			lo, end := s.sendDisp[r0], len(keys)
			if r0+width < s.np {
				end = s.sendDisp[r0+width]
			}
			split2(dst, src[lo:end], lo, s.sendDisp[mid], first[mid])
		}
		src = dst
	}
}

// split2 writes the keys below split to dst from lo on and the others from
// hi on, keeping their order. Written so that the compiler selects the
// index and the increments with conditional moves, not a branch per key
// (which would mispredict half the time): about twice as fast as the same
// selection done with shifts and masks.
func split2(dst, keys []int32, lo, hi int, split int64) {
	for _, k := range keys {
		idx, inc := lo, 1
		if int64(k) >= split {
			idx, inc = hi, 0
		}
		dst[idx] = k
		lo += inc
		hi += 1 - inc
	}
}

// fullVerify sorts the rank's keys with the ranks of the last iteration
// and checks the order locally and across the rank boundary (is.c's
// full_verify). It adds one to passed when everything is in order.
func (s *sorter) fullVerify() error {
	// This rank's keys: those it kept (its range of keyArray) and those
	// it received.
	lo, hi := int32(s.minKey), int32(s.maxKeyOwned)
	mine := append([]int32(nil), s.recvd...)
	for _, k := range s.keyArray {
		if k >= lo && k <= hi {
			mine = append(mine, k)
		}
	}
	n := len(mine)
	sorted := make([]int32, n)
	cnt := s.counts[s.minKey:]
	for _, k := range mine {
		idx := k - lo
		cnt[idx]--
		sorted[int(cnt[idx])-s.lesser] = k
	}
	// Pass the largest key so far along the ranks. A rank without keys
	// forwards its predecessor's.
	prev := int32(-1)
	if s.me > 0 {
		var k [1]int32
		if _, err := comm.Recv(s.ctx, s.c, k[:], s.me-1, 1000); err != nil {
			return err
		}
		prev = k[0]
	}
	if s.me < s.np-1 {
		last := prev
		if n > 0 {
			last = sorted[n-1]
		}
		if err := comm.Send(s.ctx, s.c, []int32{last}, s.me+1, 1000); err != nil {
			return err
		}
	}
	bad := 0
	if s.me > 0 && n > 0 && prev > sorted[0] {
		bad++
	}
	for i := 1; i < n; i++ {
		if sorted[i-1] > sorted[i] {
			bad++
		}
	}
	if bad != 0 {
		fmt.Printf("Processor %d:  Full_verify: number of keys out of sort: %d\n", s.me, bad)
	} else {
		s.passed++
	}
	return nil
}

// Run runs IS of the given class on c and writes NPB's report to out on
// rank 0.
func Run(ctx context.Context, c *comm.Comm, class byte, out io.Writer) (Result, error) {
	cl, ok := classes[class]
	if !ok {
		return Result{}, fmt.Errorf("is: unknown class %q", class)
	}
	s, err := newSorter(ctx, c, class, cl)
	if err != nil {
		return Result{}, err
	}
	totalKeys := 1 << cl.totalKeysLog2
	if s.me == 0 {
		fmt.Fprintf(out, "\n\n NAS Parallel Benchmarks 3.4 -- IS Benchmark (Go port)\n\n")
		fmt.Fprintf(out, " Size:  %d  (class %c)\n", totalKeys, class)
		fmt.Fprintf(out, " Iterations:   %d\n", maxIterations)
		fmt.Fprintf(out, " Number of processes:     %d\n", s.np)
	}
	s.createSeq(findMySeed(s.me, s.np, 4*int64(totalKeys)*minProcs, seed, npb.A))

	// One untimed ranking, then the counter restarts.
	if err := s.rank(1); err != nil {
		return Result{}, err
	}
	s.passed = 0
	res := Result{Class: class}
	if s.me == 0 && class != 'S' {
		fmt.Fprintf(out, "\n   iteration\n")
	}
	if err := npb.Barrier(ctx, c); err != nil {
		return Result{}, err
	}
	start := time.Now()
	for it := 1; it <= maxIterations; it++ {
		if s.me == 0 && class != 'S' {
			fmt.Fprintf(out, "        %d\n", it)
		}
		if err := s.rank(it); err != nil {
			return Result{}, err
		}
		res.TestRanks = append(res.TestRanks, s.testRanks)
	}
	elapsed := []float64{time.Since(start).Seconds()}
	if err := npb.AllreduceMax(ctx, c, elapsed); err != nil {
		return Result{}, err
	}
	res.Time = elapsed[0]
	if err := s.fullVerify(); err != nil {
		return Result{}, err
	}
	passed := []int64{int64(s.passed)}
	if err := npb.AllreduceSum(ctx, c, passed); err != nil {
		return Result{}, err
	}
	res.Passed = int(passed[0])
	if cl.hasRef {
		res.Verified = res.Passed == testArraySize*maxIterations+s.np
	}
	res.Mops = float64(maxIterations) * float64(totalKeys) * minProcs / res.Time / 1e6
	if s.me == 0 {
		fmt.Fprintf(out, "\n\n IS Benchmark Completed\n")
		if !cl.hasRef {
			fmt.Fprintf(out, " No reference test ranks for class %c: partial verification not performed.\n", class)
			fmt.Fprintf(out, " Full verification: %d of %d ranks in order\n", res.Passed, s.np)
		} else {
			fmt.Fprintf(out, " Verification checks passed: %d of %d\n", res.Passed, testArraySize*maxIterations+s.np)
		}
		if res.Verified {
			fmt.Fprintln(out, " VERIFICATION SUCCESSFUL")
		} else {
			fmt.Fprintln(out, " VERIFICATION FAILED")
		}
		r := npb.Results{Name: "IS", Class: class, N1: totalKeys, Niter: maxIterations,
			Time: res.Time, Procs: s.np, Mops: res.Mops, OpType: "keys ranked", Verified: res.Verified}
		r.Print(out)
	}
	return res, nil
}
