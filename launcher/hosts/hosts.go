package hosts

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"unicode/utf8"
)

// Host is one machine of an allocation.
type Host struct {
	// Name is the host name or address, as given by the user.
	Name string
	// Slots is the number of ranks the host takes before it counts as
	// oversubscribed. It may be zero: the host then never receives a rank.
	Slots int
	// MaxSlots is the hard limit on ranks for the host, even when
	// oversubscribing; 0 means unlimited.
	MaxSlots int
}

// MaxSlotsPerHost is the largest slot (or max_slots) count accepted for a
// single host, including counts accumulated over repeated entries.
const MaxSlotsPerHost = 1 << 24

// maxLineLen bounds one hostfile line.
const maxLineLen = 1 << 20

// ParseError reports a syntax or value error in a hostfile.
type ParseError struct {
	File string // the name passed to ParseHostfile
	Line int    // 1-based line number
	Msg  string // what is wrong
}

// Error formats the error as `hostfile FILE:LINE: MSG`.
func (e *ParseError) Error() string {
	return fmt.Sprintf("hostfile %s:%d: %s", e.File, e.Line, e.Msg)
}

// hostSet accumulates hosts in order of first appearance.
type hostSet struct {
	list  []Host
	index map[string]int
}

// add merges slots (and a max_slots limit, 0 = none given) into the host.
func (s *hostSet) add(name string, slots, max int) error {
	if s.index == nil {
		s.index = make(map[string]int)
	}
	i, ok := s.index[name]
	if !ok {
		i = len(s.list)
		s.index[name] = i
		s.list = append(s.list, Host{Name: name})
	}
	h := &s.list[i]
	if h.Slots+slots > MaxSlotsPerHost {
		return fmt.Errorf("host %q: too many slots (more than %d)", clip(name), MaxSlotsPerHost)
	}
	h.Slots += slots
	if max > 0 {
		h.MaxSlots = max
	}
	if h.MaxSlots > 0 && h.Slots > h.MaxSlots {
		return fmt.Errorf("host %q: %d slots exceed max_slots=%d", clip(name), h.Slots, h.MaxSlots)
	}
	return nil
}

// parseCount parses a non-negative decimal count (digits only).
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

// MaxNameLen and MaxLabelLen bound host names as DNS does (RFC 1035): at
// most 253 characters, each dot-separated label at most 63.
const (
	MaxNameLen  = 253
	MaxLabelLen = 63
)

// checkName validates a host name: an IP address (an IPv6 literal may carry
// a %zone), or a DNS name of letters, digits, '-' and '_' in labels of 1 to
// MaxLabelLen characters, MaxNameLen in all (a final dot is allowed),
// optionally after "user@" (as ssh takes it).
func checkName(name string) error {
	if name == "" {
		return errors.New("missing host name")
	}
	if i := strings.LastIndexByte(name, '@'); i >= 0 {
		user := name[:i]
		for _, r := range user {
			if r <= ' ' || r == 0x7f || r == '=' || r == ',' || r == '#' || r == '@' {
				return fmt.Errorf("invalid character %q in host name %q", r, clip(name))
			}
		}
		if user == "" || len(user) > 256 {
			return fmt.Errorf("bad user name in host name %q", clip(name))
		}
		full := name
		name = name[i+1:]
		if name == "" {
			return fmt.Errorf("missing host name after the user in %q", clip(full))
		}
	}
	if _, err := netip.ParseAddr(name); err == nil {
		return nil
	}
	if len(name) > MaxNameLen+1 || len(name) > MaxNameLen && !strings.HasSuffix(name, ".") {
		return fmt.Errorf("host name %q is %d characters long: at most %d are allowed", clip(name), len(name), MaxNameLen)
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
		if !ok {
			return fmt.Errorf("invalid character %q in host name %q", r, clip(name))
		}
	}
	labels := strings.Split(strings.TrimSuffix(name, "."), ".")
	for _, l := range labels {
		if l == "" {
			return fmt.Errorf("host name %q has an empty label", clip(name))
		}
		if len(l) > MaxLabelLen {
			return fmt.Errorf("host name %q has a label of %d characters: at most %d are allowed", clip(name), len(l), MaxLabelLen)
		}
	}
	return nil
}

// splitHostCount splits "host:N" (MPICH/-H style). It returns hasCount
// false for a bare host. An IPv6 literal may be bare (more than one colon,
// no count) or bracketed: "[fe80::1]:4".
func splitHostCount(tok string) (name string, count int, hasCount bool, err error) {
	if strings.HasPrefix(tok, "[") {
		end := strings.IndexByte(tok, ']')
		if end < 0 {
			return "", 0, false, fmt.Errorf("missing ']' in %q", clip(tok))
		}
		name, rest := tok[1:end], tok[end+1:]
		if name == "" {
			return "", 0, false, fmt.Errorf("empty address in %q", clip(tok))
		}
		if rest == "" {
			return name, 0, false, nil
		}
		if rest[0] != ':' {
			return "", 0, false, fmt.Errorf("unexpected %q after ']' in %q", clip(rest), clip(tok))
		}
		n, ok := parseCount(rest[1:])
		if !ok || n > MaxSlotsPerHost {
			return "", 0, false, fmt.Errorf("bad slots value %q", clip(rest[1:]))
		}
		return name, n, true, nil
	}
	if strings.Count(tok, ":") != 1 {
		// No colon, or a bare IPv6 literal.
		return tok, 0, false, nil
	}
	i := strings.IndexByte(tok, ':')
	name, cnt := tok[:i], tok[i+1:]
	if name == "" {
		return "", 0, false, fmt.Errorf("missing host name in %q", clip(tok))
	}
	if cnt == "*" {
		return "", 0, false, fmt.Errorf("slot count \"*\" (use all cores) is not supported in %q; give a number", clip(tok))
	}
	n, ok := parseCount(cnt)
	if !ok || n > MaxSlotsPerHost {
		return "", 0, false, fmt.Errorf("bad slots value %q", clip(cnt))
	}
	return name, n, true, nil
}

// hostfile keys.
const (
	keySlots = iota
	keyMax
)

func lookupKey(k string) (int, bool) {
	switch strings.ToLower(k) {
	case "slots", "slot", "count", "cpu":
		return keySlots, true
	case "max_slots", "max-slots", "slots_max", "slots-max":
		return keyMax, true
	}
	return 0, false
}

// joinAssignments turns the fields after the host name into "key=value"
// strings, accepting "key = value", "key= value" and "key =value".
func joinAssignments(fields []string) ([]string, error) {
	var out []string
	for i := 0; i < len(fields); i++ {
		f := fields[i]
		switch {
		case f == "=":
			return nil, errors.New(`"=" without a key`)
		case strings.HasSuffix(f, "=") && strings.Count(f, "=") == 1:
			if i+1 >= len(fields) {
				out = append(out, f) // empty value, reported by the caller
				continue
			}
			i++
			out = append(out, f+fields[i])
		case !strings.Contains(f, "=") && i+1 < len(fields) && strings.HasPrefix(fields[i+1], "="):
			next := fields[i+1]
			i++
			if next == "=" {
				if i+1 < len(fields) {
					i++
					out = append(out, f+"="+fields[i])
				} else {
					out = append(out, f+"=")
				}
			} else {
				out = append(out, f+next)
			}
		default:
			out = append(out, f)
		}
	}
	return out, nil
}

// ParseHostfile parses an Open MPI hostfile (also accepting MPICH's
// "host:N" lines) read from r. name is used in error messages only. Hosts
// are returned in order of first appearance; a host listed on several
// lines accumulates its slots. See the package documentation for the
// syntax. A file without any host yields an empty list and no error.
// Syntax errors are of type *ParseError; a read error from r is returned
// wrapped with the file name.
func ParseHostfile(r io.Reader, name string) ([]Host, error) {
	if name == "" {
		name = "<input>"
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLineLen)
	var set hostSet
	lineNo := 0
	fail := func(format string, args ...any) error {
		return &ParseError{File: name, Line: lineNo, Msg: fmt.Sprintf(format, args...)}
	}
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		first := fields[0]
		if strings.Contains(first, "=") {
			return nil, fail("missing host name before %q", clip(first))
		}
		host, count, hasCount, err := splitHostCount(first)
		if err != nil {
			return nil, fail("%v", err)
		}
		if err := checkName(host); err != nil {
			return nil, fail("%v", err)
		}
		assigns, err := joinAssignments(fields[1:])
		if err != nil {
			return nil, fail("%v", err)
		}
		slots, max := 1, 0
		gotSlots, gotMax := false, false
		if hasCount {
			slots, gotSlots = count, true
		}
		for _, a := range assigns {
			k, v, ok := strings.Cut(a, "=")
			if !ok {
				return nil, fail("unexpected %q: expected key=value (keys: slots, max_slots)", clip(a))
			}
			key, known := lookupKey(k)
			if !known {
				return nil, fail("unknown key %q (supported: slots, max_slots)", clip(k))
			}
			switch key {
			case keySlots:
				if gotSlots {
					return nil, fail("slot count given twice for host %q", clip(host))
				}
				n, ok := parseCount(v)
				if !ok || n > MaxSlotsPerHost {
					return nil, fail("bad slots value %q", clip(v))
				}
				slots, gotSlots = n, true
			case keyMax:
				if gotMax {
					return nil, fail("max_slots given twice for host %q", clip(host))
				}
				n, ok := parseCount(v)
				if !ok || n > MaxSlotsPerHost {
					return nil, fail("bad max_slots value %q", clip(v))
				}
				if n == 0 {
					return nil, fail("bad max_slots value %q: must be at least 1", clip(v))
				}
				max, gotMax = n, true
			}
		}
		if err := set.add(host, slots, max); err != nil {
			return nil, fail("%v", err)
		}
	}
	if err := sc.Err(); err != nil {
		lineNo++
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fail("line too long (more than %d bytes)", maxLineLen)
		}
		return nil, fmt.Errorf("hostfile %s: %w", name, err)
	}
	return set.list, nil
}

// ParseHostList parses the argument of mpirun's -H/--host option, for
// example "host1:4,host2:4,host1". A host without ":N" counts one slot and
// a repeated host adds its slots (Open MPI semantics). Hosts are returned
// in order of first appearance. Empty entries are errors.
func ParseHostList(s string) ([]Host, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("host list: empty")
	}
	var set hostSet
	for i, e := range strings.Split(s, ",") {
		e = strings.TrimSpace(e)
		if e == "" {
			return nil, fmt.Errorf("host list %q: entry %d is empty", clip(s), i+1)
		}
		name, n, hasCount, err := splitHostCount(e)
		if err != nil {
			return nil, fmt.Errorf("host list %q: entry %d: %v", clip(s), i+1, err)
		}
		if err := checkName(name); err != nil {
			return nil, fmt.Errorf("host list %q: entry %d: %v", clip(s), i+1, err)
		}
		if !hasCount {
			n = 1
		}
		if err := set.add(name, n, 0); err != nil {
			return nil, fmt.Errorf("host list %q: %v", clip(s), err)
		}
	}
	return set.list, nil
}

// TotalSlots returns the sum of the hosts' slots: the number of ranks
// mpirun starts when -np is omitted. Negative slot counts are ignored and
// the sum saturates at the maximum int.
func TotalSlots(hosts []Host) int {
	const maxInt = int(^uint(0) >> 1)
	t := 0
	for _, h := range hosts {
		if h.Slots <= 0 {
			continue
		}
		if t > maxInt-h.Slots {
			return maxInt
		}
		t += h.Slots
	}
	return t
}

// clip shortens user input quoted in error messages.
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
