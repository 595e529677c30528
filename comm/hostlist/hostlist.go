// Package hostlist expands Slurm's compact host lists ("node[01-04,07],gpu3")
// and task counts ("2(x3),1"). It is shared by the launcher (placing ranks in
// an allocation) and by comm (ranks started directly by srun), and uses only
// the standard library. Its functions are pure and safe for concurrent use.
package hostlist

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxNames caps the number of names [ExpandNodelist] produces and the
// number of counts [ExpandTasksPerNode] produces, so that an absurd
// expression such as "n[0-999999999]" fails quickly instead of exhausting
// memory.
const MaxNames = 1 << 20

// maxExpandBytes caps the total size of the names ExpandNodelist builds.
const maxExpandBytes = 1 << 26

// maxDigits bounds the digits of one number in a range.
const maxDigits = 12

// nlSegment is a literal (group == nil) or a bracket group of a nodelist
// entry.
type nlSegment struct {
	lit   string
	group []nlRange
}

// nlRange is lo..hi printed with zero padding to width.
type nlRange struct {
	lo, hi, width int
}

func (g nlRange) size() int { return g.hi - g.lo + 1 }

// maxWidth is the widest formatted number in the range.
func (g nlRange) maxWidth() int {
	if w := len(strconv.Itoa(g.hi)); w > g.width {
		return w
	}
	return g.width
}

// splitTopLevel splits s at commas outside brackets.
func splitTopLevel(s string) ([]string, error) {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			if depth > 0 {
				return nil, fmt.Errorf("nested '[' at offset %d", i)
			}
			depth++
		case ']':
			if depth == 0 {
				return nil, fmt.Errorf("unmatched ']' at offset %d", i)
			}
			depth--
		case ',':
			if depth == 0 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	if depth != 0 {
		return nil, errors.New("missing ']'")
	}
	return append(parts, s[start:]), nil
}

func checkLiteral(lit string) error {
	for _, r := range lit {
		if r <= ' ' || r == 0x7f || r == '=' || r == '#' {
			return fmt.Errorf("invalid character %q", r)
		}
	}
	return nil
}

func parseNumber(s string) (int, error) {
	if len(s) > maxDigits {
		return 0, fmt.Errorf("number %q too long", clip(s))
	}
	n, ok := parseCount(s)
	if !ok {
		return 0, fmt.Errorf("bad number %q", clip(s))
	}
	return n, nil
}

// parseGroup parses the inside of a bracket group: "01-04,07".
func parseGroup(s string) ([]nlRange, error) {
	if s == "" {
		return nil, errors.New("empty brackets")
	}
	var out []nlRange
	for _, item := range strings.Split(s, ",") {
		if item == "" {
			return nil, fmt.Errorf("empty range in [%s]", s)
		}
		loS, hiS, isRange := strings.Cut(item, "-")
		lo, err := parseNumber(loS)
		if err != nil {
			return nil, fmt.Errorf("range %q: %v", clip(item), err)
		}
		hi := lo
		if isRange {
			if hi, err = parseNumber(hiS); err != nil {
				return nil, fmt.Errorf("range %q: %v", clip(item), err)
			}
			if hi < lo {
				return nil, fmt.Errorf("range %q: end is below start", clip(item))
			}
		}
		out = append(out, nlRange{lo: lo, hi: hi, width: len(loS)})
	}
	return out, nil
}

// parseEntry splits one top-level entry into literals and groups.
func parseEntry(e string) ([]nlSegment, error) {
	var segs []nlSegment
	for e != "" {
		i := strings.IndexByte(e, '[')
		if i < 0 {
			if err := checkLiteral(e); err != nil {
				return nil, err
			}
			segs = append(segs, nlSegment{lit: e})
			break
		}
		if i > 0 {
			if err := checkLiteral(e[:i]); err != nil {
				return nil, err
			}
			segs = append(segs, nlSegment{lit: e[:i]})
		}
		j := strings.IndexByte(e[i:], ']') // balanced: checked by splitTopLevel
		g, err := parseGroup(e[i+1 : i+j])
		if err != nil {
			return nil, err
		}
		segs = append(segs, nlSegment{group: g})
		e = e[i+j+1:]
	}
	return simplify(segs), nil
}

// simplify turns single-valued groups into literals and merges adjacent
// literals, so that expansion recursion depth stays bounded by the number
// of multi-valued groups (at most log2(MaxNames) of them).
func simplify(segs []nlSegment) []nlSegment {
	var out []nlSegment
	var lit strings.Builder
	pending := false
	for _, sg := range segs {
		if len(sg.group) == 1 && sg.group[0].size() == 1 {
			r := sg.group[0]
			num := strconv.Itoa(r.lo)
			for pad := r.width - len(num); pad > 0; pad-- {
				lit.WriteByte('0')
			}
			lit.WriteString(num)
			pending = true
			continue
		}
		if sg.group == nil {
			lit.WriteString(sg.lit)
			pending = true
			continue
		}
		if pending {
			out = append(out, nlSegment{lit: lit.String()})
			lit.Reset()
			pending = false
		}
		out = append(out, sg)
	}
	if pending {
		out = append(out, nlSegment{lit: lit.String()})
	}
	return out
}

// ExpandNodelist expands a Slurm hostlist expression such as
// "node[01-04,07],gpu3" into host names, in Slurm's order. Several bracket
// groups in one name give their cartesian product with the leftmost group
// varying slowest; zero padding follows the width of each range's lower
// bound. Duplicates are kept. More than [MaxNames] names is an error.
func ExpandNodelist(s string) ([]string, error) {
	orig := s
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("nodelist: empty")
	}
	fail := func(err error) error { return fmt.Errorf("nodelist %q: %v", clip(orig), err) }
	entries, err := splitTopLevel(s)
	if err != nil {
		return nil, fail(err)
	}
	parsed := make([][]nlSegment, len(entries))
	total, totalBytes := 0, 0
	for k, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			return nil, fail(fmt.Errorf("entry %d is empty", k+1))
		}
		segs, err := parseEntry(e)
		if err != nil {
			return nil, fail(err)
		}
		// Count names and bytes before expanding anything.
		count, nameLen := 1, 0
		for _, sg := range segs {
			if sg.group == nil {
				nameLen += len(sg.lit)
				continue
			}
			gsize, w := 0, 0
			for _, r := range sg.group {
				gsize += r.size()
				if gsize > MaxNames {
					return nil, fail(fmt.Errorf("expands to more than %d names", MaxNames))
				}
				w = max(w, r.maxWidth())
			}
			nameLen += w
			if count > MaxNames/gsize {
				return nil, fail(fmt.Errorf("expands to more than %d names", MaxNames))
			}
			count *= gsize
		}
		total += count
		if total > MaxNames {
			return nil, fail(fmt.Errorf("expands to more than %d names", MaxNames))
		}
		if nameLen > maxExpandBytes/count || totalBytes+count*nameLen > maxExpandBytes {
			return nil, fail(fmt.Errorf("expansion larger than %d bytes", maxExpandBytes))
		}
		totalBytes += count * nameLen
		parsed[k] = segs
	}
	out := make([]string, 0, total)
	var buf []byte
	for _, segs := range parsed {
		out = expandSegs(out, buf, segs)
	}
	return out, nil
}

// expandSegs appends to out every name prefix+expansion(segs).
func expandSegs(out []string, prefix []byte, segs []nlSegment) []string {
	if len(segs) == 0 {
		return append(out, string(prefix))
	}
	sg := segs[0]
	if sg.group == nil {
		return expandSegs(out, append(prefix, sg.lit...), segs[1:])
	}
	for _, r := range sg.group {
		for v := r.lo; v <= r.hi; v++ {
			p := prefix
			num := strconv.Itoa(v)
			for pad := r.width - len(num); pad > 0; pad-- {
				p = append(p, '0')
			}
			p = append(p, num...)
			out = expandSegs(out, p, segs[1:])
		}
	}
	return out
}

// ExpandTasksPerNode expands a SLURM_TASKS_PER_NODE value such as
// "2(x3),1" into one count per node: [2 2 2 1]. More than [MaxNames]
// counts is an error.
func ExpandTasksPerNode(s string) ([]int, error) {
	orig := s
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("tasks per node: empty")
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("tasks per node %q: %s", clip(orig), fmt.Sprintf(format, args...))
	}
	var out []int
	for k, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, fail("entry %d is empty", k+1)
		}
		countS, rep := item, 1
		if i := strings.IndexByte(item, '('); i >= 0 {
			countS = item[:i]
			r := item[i:]
			if !strings.HasPrefix(r, "(x") || !strings.HasSuffix(r, ")") {
				return nil, fail("bad entry %q: want N or N(xM)", clip(item))
			}
			n, ok := parseCount(r[2 : len(r)-1])
			if !ok || n == 0 {
				return nil, fail("bad repeat count in %q", clip(item))
			}
			rep = n
		}
		n, ok := parseCount(countS)
		if !ok || n > MaxCount {
			return nil, fail("bad task count %q", clip(countS))
		}
		if rep > MaxNames-len(out) {
			return nil, fail("expands to more than %d nodes", MaxNames)
		}
		for ; rep > 0; rep-- {
			out = append(out, n)
		}
	}
	return out, nil
}

// MaxCount bounds one node's task count.
const MaxCount = 1 << 24

// parseCount parses a non-negative decimal of at most 12 digits.
func parseCount(s string) (int, bool) {
	if s == "" || len(s) > 12 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// clip shortens user input quoted in an error to 64 bytes.
func clip(s string) string {
	const n = 64
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
