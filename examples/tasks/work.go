package main

import (
	"hash/fnv"
	"sort"
	"strings"
)

// sieveCount returns the number of primes below n (sieve of Eratosthenes).
func sieveCount(n int64) int64 {
	if n < 3 {
		return 0
	}
	composite := make([]bool, n)
	count := int64(0)
	for i := int64(2); i < n; i++ {
		if composite[i] {
			continue
		}
		count++
		for j := i * i; j < n; j += i {
			composite[j] = true
		}
	}
	return count
}

// isPrime tests x by trial division: deliberately slow, so that a work item's
// cost grows with its length and with the size of its numbers.
func isPrime(x int64) bool {
	if x < 2 {
		return false
	}
	if x%2 == 0 {
		return x == 2
	}
	for d := int64(3); d*d <= x; d += 2 {
		if x%d == 0 {
			return false
		}
	}
	return true
}

// countPrimes counts the primes in [lo, hi) by trial division.
func countPrimes(lo, hi int64) int64 {
	n := int64(0)
	for x := lo; x < hi; x++ {
		if isPrime(x) {
			n++
		}
	}
	return n
}

// farmItems splits [0, n) into items intervals of uneven length: a
// deterministic pseudo-random eighth of them is 12 times longer than the
// rest, so the work per item varies a lot.
func farmItems(n int64, items int) [][2]int64 {
	if items < 1 {
		items = 1
	}
	w := make([]int64, items)
	var total int64
	x := uint64(0x9e3779b97f4a7c15)
	for i := range w {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		w[i] = 1
		if x%8 == 0 {
			w[i] = 12
		}
		total += w[i]
	}
	out := make([][2]int64, items)
	var acc int64
	for i := range w {
		lo := n * acc / total
		acc += w[i]
		out[i] = [2]int64{lo, n * acc / total}
	}
	return out
}

// reportText is the input of the report job.
const reportText = `It was the best of times, it was the worst of times, it was the age of
wisdom, it was the age of foolishness, it was the epoch of belief, it was the
epoch of incredulity, it was the season of Light, it was the season of
Darkness, it was the spring of hope, it was the winter of despair.`

// Report is the result of the report job.
type Report struct {
	Words, Distinct int
	Top             string // the most frequent word
	TopCount        int
}

func makeReport(text string) Report {
	counts := map[string]int{}
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !(r >= 'a' && r <= 'z')
	})
	for _, w := range words {
		counts[w]++
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if counts[keys[i]] != counts[keys[j]] {
			return counts[keys[i]] > counts[keys[j]]
		}
		return keys[i] < keys[j]
	})
	r := Report{Words: len(words), Distinct: len(counts)}
	if len(keys) > 0 {
		r.Top, r.TopCount = keys[0], counts[keys[0]]
	}
	return r
}

// fakeDownload stands for fetching a file: after the wait the caller does,
// it "parses" a deterministic payload and returns its checksum.
func fakeDownload(name string, size int) uint64 {
	h := fnv.New64a()
	buf := make([]byte, 0, 16)
	for i := range size {
		buf = append(buf[:0], name...)
		buf = append(buf, byte(i), byte(i>>8), byte(i>>16))
		h.Write(buf)
	}
	return h.Sum64()
}
