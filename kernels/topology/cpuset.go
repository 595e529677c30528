package topology

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// MaxCPU bounds the CPU numbers accepted by [ParseCPUList] and
// [ParseCPUMask]: larger numbers are rejected as malformed input. It matches
// the largest CPU count Linux can be configured for (CONFIG_NR_CPUS ≤ 8192).
const MaxCPU = 8191

// CPUSet is a set of logical CPU numbers, kept sorted in ascending order and
// without duplicates. The nil (empty) set means "no CPUs"; in a binding plan
// it means "unbound".
//
// A CPUSet is a plain slice: build one with [NewCPUSet], [ParseCPUList] or
// the set operations, which keep the invariant and never modify their
// operands. Treat values as immutable; they are then safe to share between
// goroutines.
//
// Its text form (String, MarshalText) is the Linux list format used by
// sysfs, taskset -c and cgroups, e.g. "0-3,8,10-11".
type CPUSet []int

// NewCPUSet returns the set of the given CPU numbers, in any order and with
// duplicates allowed. It panics on a negative number.
func NewCPUSet(cpus ...int) CPUSet {
	if len(cpus) == 0 {
		return nil
	}
	s := slices.Clone(cpus)
	slices.Sort(s)
	s = slices.Compact(s)
	if s[0] < 0 {
		panic("topology: negative CPU number")
	}
	return CPUSet(s)
}

// RangeCPUSet returns the set {lo, lo+1, …, hi-1}.
func RangeCPUSet(lo, hi int) CPUSet {
	if lo < 0 {
		panic("topology: negative CPU number")
	}
	var s CPUSet
	for c := lo; c < hi; c++ {
		s = append(s, c)
	}
	return s
}

// Len reports the number of CPUs in s.
func (s CPUSet) Len() int { return len(s) }

// IsEmpty reports whether s has no CPUs.
func (s CPUSet) IsEmpty() bool { return len(s) == 0 }

// Contains reports whether cpu is in s.
func (s CPUSet) Contains(cpu int) bool {
	_, ok := slices.BinarySearch(s, cpu)
	return ok
}

// First returns the smallest CPU of s, or -1 when s is empty.
func (s CPUSet) First() int {
	if len(s) == 0 {
		return -1
	}
	return s[0]
}

// Equal reports whether s and o hold the same CPUs.
func (s CPUSet) Equal(o CPUSet) bool { return slices.Equal(s, o) }

// IsSubsetOf reports whether every CPU of s is in o.
func (s CPUSet) IsSubsetOf(o CPUSet) bool {
	j := 0
	for _, c := range s {
		for j < len(o) && o[j] < c {
			j++
		}
		if j == len(o) || o[j] != c {
			return false
		}
	}
	return true
}

// Intersect returns the CPUs in both s and o.
func (s CPUSet) Intersect(o CPUSet) CPUSet {
	var r CPUSet
	i, j := 0, 0
	for i < len(s) && j < len(o) {
		switch {
		case s[i] < o[j]:
			i++
		case s[i] > o[j]:
			j++
		default:
			r = append(r, s[i])
			i++
			j++
		}
	}
	return r
}

// Union returns the CPUs in s or o.
func (s CPUSet) Union(o CPUSet) CPUSet {
	r := make(CPUSet, 0, len(s)+len(o))
	i, j := 0, 0
	for i < len(s) || j < len(o) {
		switch {
		case j == len(o) || (i < len(s) && s[i] < o[j]):
			r = append(r, s[i])
			i++
		case i == len(s) || o[j] < s[i]:
			r = append(r, o[j])
			j++
		default:
			r = append(r, s[i])
			i++
			j++
		}
	}
	if len(r) == 0 {
		return nil
	}
	return r
}

// Difference returns the CPUs in s that are not in o.
func (s CPUSet) Difference(o CPUSet) CPUSet {
	var r CPUSet
	for _, c := range s {
		if !o.Contains(c) {
			r = append(r, c)
		}
	}
	return r
}

// String renders s in Linux list format ("0-3,8"); the empty set renders as
// the empty string.
func (s CPUSet) String() string {
	var b strings.Builder
	for i := 0; i < len(s); {
		j := i
		for j+1 < len(s) && s[j+1] == s[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(s[i]))
		if j > i {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(s[j]))
		}
		i = j + 1
	}
	return b.String()
}

// MarshalText implements encoding.TextMarshaler with the list format, so a
// CPUSet appears in JSON as a string like "0-3,8".
func (s CPUSet) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with [ParseCPUList].
func (s *CPUSet) UnmarshalText(b []byte) error {
	v, err := ParseCPUList(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// ErrSyntax is wrapped by the errors of [ParseCPUList] and [ParseCPUMask].
var ErrSyntax = errors.New("invalid CPU list")

// ParseCPUList parses the Linux list format: comma-separated CPU numbers and
// inclusive ranges "a-b", optionally with a stride "a-b:s" as accepted by
// cgroups ("0-7:2" is 0,2,4,6). Surrounding white space (such as the newline
// of a sysfs file) is ignored, and "" yields the empty set. Numbers above
// [MaxCPU] are rejected.
func ParseCPUList(s string) (CPUSet, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var cpus []int
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		stride := 1
		if rng, st, ok := strings.Cut(part, ":"); ok {
			v, err := parseCPUNum(st)
			if err != nil || v == 0 {
				return nil, fmt.Errorf("topology: %w %q: bad stride %q", ErrSyntax, s, st)
			}
			stride, part = v, rng
		}
		lo, hi := part, part
		if a, b, ok := strings.Cut(part, "-"); ok {
			lo, hi = a, b
		} else if stride != 1 {
			return nil, fmt.Errorf("topology: %w %q: stride without range", ErrSyntax, s)
		}
		l, err := parseCPUNum(lo)
		if err != nil {
			return nil, fmt.Errorf("topology: %w %q: %v", ErrSyntax, s, err)
		}
		h, err := parseCPUNum(hi)
		if err != nil {
			return nil, fmt.Errorf("topology: %w %q: %v", ErrSyntax, s, err)
		}
		if h < l {
			return nil, fmt.Errorf("topology: %w %q: descending range %d-%d", ErrSyntax, s, l, h)
		}
		for c := l; c <= h; c += stride {
			cpus = append(cpus, c)
		}
	}
	return NewCPUSet(cpus...), nil
}

func parseCPUNum(s string) (int, error) {
	if s == "" {
		return 0, errors.New("empty number")
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, fmt.Errorf("bad number %q", s)
		}
	}
	if len(s) > 5 {
		return 0, fmt.Errorf("CPU number %q too large", s)
	}
	v, _ := strconv.Atoi(s)
	if v > MaxCPU {
		return 0, fmt.Errorf("CPU number %d above %d", v, MaxCPU)
	}
	return v, nil
}

// ParseCPUMask parses the Linux hexadecimal mask format of sysfs files such
// as shared_cpu_map: comma-separated 32-bit hex words, most significant
// first ("ff,00000001" is CPUs 0 and 32-39).
func ParseCPUMask(s string) (CPUSet, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	words := strings.Split(s, ",")
	if len(words)*32 > MaxCPU+1 {
		return nil, fmt.Errorf("topology: %w mask %q: too long", ErrSyntax, s)
	}
	var cpus []int
	for i, w := range words {
		if w == "" || len(w) > 8 {
			return nil, fmt.Errorf("topology: %w mask %q: bad word %q", ErrSyntax, s, w)
		}
		v, err := strconv.ParseUint(w, 16, 32)
		if err != nil {
			return nil, fmt.Errorf("topology: %w mask %q: bad word %q", ErrSyntax, s, w)
		}
		base := (len(words) - 1 - i) * 32
		for b := 0; b < 32; b++ {
			if v&(1<<b) != 0 {
				cpus = append(cpus, base+b)
			}
		}
	}
	return NewCPUSet(cpus...), nil
}
