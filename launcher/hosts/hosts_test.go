package hosts

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseHostfile(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Host
	}{
		{"empty", "", nil},
		{"comments and blanks", "# only a comment\n\n   \n\t# indented\n", nil},
		{"bare host", "a\n", []Host{{Name: "a", Slots: 1}}},
		{"slots", "a slots=4\n", []Host{{Name: "a", Slots: 4}}},
		{"slots and max", "a slots=4 max_slots=8", []Host{{Name: "a", Slots: 4, MaxSlots: 8}}},
		{"max-slots dash", "a slots=2 max-slots=3", []Host{{Name: "a", Slots: 2, MaxSlots: 3}}},
		{"slots_max", "a slots=2 slots_max=3", []Host{{Name: "a", Slots: 2, MaxSlots: 3}}},
		{"max only", "a max_slots=4", []Host{{Name: "a", Slots: 1, MaxSlots: 4}}},
		{"synonyms", "a slot=2\nb count=3\nc cpu=4", []Host{{"a", 2, 0}, {"b", 3, 0}, {"c", 4, 0}}},
		{"uppercase key", "a SLOTS=2", []Host{{Name: "a", Slots: 2}}},
		{"spaces around =", "a slots = 4\nb slots= 5\nc slots =6\n", []Host{{"a", 4, 0}, {"b", 5, 0}, {"c", 6, 0}}},
		{"whitespace", "  \t a   slots=2   \t\r\n", []Host{{Name: "a", Slots: 2}}},
		{"trailing comment", "a slots=2 # two\nb#c\n", []Host{{"a", 2, 0}, {"b", 1, 0}}},
		{"zero slots", "a slots=0\nb", []Host{{"a", 0, 0}, {"b", 1, 0}}},
		{"mpich", "a:4\nb:2\n", []Host{{"a", 4, 0}, {"b", 2, 0}}},
		{"mpich with max", "a:4 max_slots=6", []Host{{"a", 4, 6}}},
		{"accumulate", "a slots=2\nb slots=1\na slots=3\n", []Host{{"a", 5, 0}, {"b", 1, 0}}},
		{"accumulate bare", "a\na\na", []Host{{"a", 3, 0}}},
		{"accumulate mixed", "a:2\na slots=2\na", []Host{{"a", 5, 0}}},
		{"max on later line", "a slots=2\na slots=2 max_slots=4", []Host{{"a", 4, 4}}},
		{"order of first appearance", "c\nb\na\nb", []Host{{"c", 1, 0}, {"b", 2, 0}, {"a", 1, 0}}},
		{"user@host and fqdn", "me@n1.example.org slots=2", []Host{{"me@n1.example.org", 2, 0}}},
		{"ipv6 bare", "fe80::1 slots=2", []Host{{"fe80::1", 2, 0}}},
		{"ipv6 bracketed", "[fe80::1]:3\n[::1]", []Host{{"fe80::1", 3, 0}, {"::1", 1, 0}}},
		{"crlf", "a slots=2\r\nb\r\n", []Host{{"a", 2, 0}, {"b", 1, 0}}},
		{"no final newline", "a slots=2", []Host{{"a", 2, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseHostfile(strings.NewReader(tt.in), "h.txt")
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if TotalSlots(got) != TotalSlots(tt.want) {
				t.Errorf("TotalSlots mismatch")
			}
		})
	}
}

func TestParseHostfileErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // exact error
	}{
		{"bad slots", "a\nb\nc slots=x\n", `hostfile h.txt:3: bad slots value "x"`},
		{"negative slots", "a slots=-1", `hostfile h.txt:1: bad slots value "-1"`},
		{"plus sign", "a slots=+1", `hostfile h.txt:1: bad slots value "+1"`},
		{"empty slots", "a slots=", `hostfile h.txt:1: bad slots value ""`},
		{"huge slots", "a slots=99999999999999999999", `hostfile h.txt:1: bad slots value "99999999999999999999"`},
		{"over per-host cap", "a slots=16777217", `hostfile h.txt:1: bad slots value "16777217"`},
		{"bad max", "# c\na max_slots=y", `hostfile h.txt:2: bad max_slots value "y"`},
		{"zero max", "a max_slots=0", `hostfile h.txt:1: bad max_slots value "0": must be at least 1`},
		{"max below slots", "a slots=4 max_slots=2", `hostfile h.txt:1: host "a": 4 slots exceed max_slots=2`},
		{"accumulated beyond max", "a slots=2 max_slots=3\na slots=2", `hostfile h.txt:2: host "a": 4 slots exceed max_slots=3`},
		{"unknown key", "a slots=2 foo=1", `hostfile h.txt:1: unknown key "foo" (supported: slots, max_slots)`},
		{"bare word", "a slots=2 extra", `hostfile h.txt:1: unexpected "extra": expected key=value (keys: slots, max_slots)`},
		{"missing host", "slots=2", `hostfile h.txt:1: missing host name before "slots=2"`},
		{"slots twice", "a slots=2 slots=3", `hostfile h.txt:1: slot count given twice for host "a"`},
		{"mpich and slots", "a:2 slots=3", `hostfile h.txt:1: slot count given twice for host "a"`},
		{"max twice", "a max_slots=2 max-slots=3", `hostfile h.txt:1: max_slots given twice for host "a"`},
		{"lone equals", "a = 3", `hostfile h.txt:1: "=" without a key`},
		{"mpich bad count", "a:x", `hostfile h.txt:1: bad slots value "x"`},
		{"mpich empty count", "a:", `hostfile h.txt:1: bad slots value ""`},
		{"mpich star", "a:*", `hostfile h.txt:1: slot count "*" (use all cores) is not supported in "a:*"; give a number`},
		{"mpich no host", ":4", `hostfile h.txt:1: missing host name in ":4"`},
		{"comma in name", "a,b slots=2", `hostfile h.txt:1: invalid character ',' in host name "a,b"`},
		{"unclosed bracket", "[fe80::1", `hostfile h.txt:1: missing ']' in "[fe80::1"`},
		{"junk after bracket", "[::1]x", `hostfile h.txt:1: unexpected "x" after ']' in "[::1]x"`},
		{"empty brackets", "[]:2", `hostfile h.txt:1: empty address in "[]:2"`},
		{"name over 253", "a\n" + strings.Repeat("abcdefgh.", 29) + "x slots=2", `hostfile h.txt:2: host name "abcdefgh.abcdefgh.abcdefgh.abcdefgh.abcdefgh.abcdefgh.abcdefgh.a..." is 262 characters long: at most 253 are allowed`},
		{"label over 63", strings.Repeat("x", 64) + ".org", `hostfile h.txt:1: host name "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx..." has a label of 64 characters: at most 63 are allowed`},
		{"empty label", "a..b", `hostfile h.txt:1: host name "a..b" has an empty label`},
		{"slash in name", "a/b", `hostfile h.txt:1: invalid character '/' in host name "a/b"`},
		{"quote in name", "a'b", `hostfile h.txt:1: invalid character '\'' in host name "a'b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseHostfile(strings.NewReader(tt.in), "h.txt")
			if err == nil {
				t.Fatalf("no error, got %+v", got)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got %s\nwant %s", err, tt.want)
			}
			var pe *ParseError
			if !errors.As(err, &pe) || pe.File != "h.txt" || pe.Line < 1 {
				t.Errorf("error %v is not a *ParseError with file and line", err)
			}
		})
	}
}

func TestParseHostfileLongLine(t *testing.T) {
	in := "a\n" + strings.Repeat("x", maxLineLen+10) + "\n"
	_, err := ParseHostfile(strings.NewReader(in), "big")
	if err == nil || !strings.Contains(err.Error(), "hostfile big:2: line too long") {
		t.Fatalf("got %v", err)
	}
}

func TestParseHostfileAccumulationCap(t *testing.T) {
	in := strings.Repeat("a slots=16777216\n", 2)
	_, err := ParseHostfile(strings.NewReader(in), "h")
	if err == nil || !strings.Contains(err.Error(), "hostfile h:2: host \"a\": too many slots") {
		t.Fatalf("got %v", err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestParseHostfileReadError(t *testing.T) {
	_, err := ParseHostfile(errReader{}, "h")
	if err == nil || err.Error() != "hostfile h: disk on fire" {
		t.Fatalf("got %v", err)
	}
}

func TestParseHostfileDefaultName(t *testing.T) {
	_, err := ParseHostfile(strings.NewReader("a slots=x"), "")
	if err == nil || err.Error() != `hostfile <input>:1: bad slots value "x"` {
		t.Fatalf("got %v", err)
	}
}

func TestParseHostList(t *testing.T) {
	tests := []struct {
		in   string
		want []Host
	}{
		{"a", []Host{{"a", 1, 0}}},
		{"host1:4,host2:4,host1", []Host{{"host1", 5, 0}, {"host2", 4, 0}}},
		{"a,b,a,a", []Host{{"a", 3, 0}, {"b", 1, 0}}},
		{" a:2 , b ", []Host{{"a", 2, 0}, {"b", 1, 0}}},
		{"a:0,b", []Host{{"a", 0, 0}, {"b", 1, 0}}},
		{"[::1]:2,fe80::1", []Host{{"::1", 2, 0}, {"fe80::1", 1, 0}}},
	}
	for _, tt := range tests {
		got, err := ParseHostList(tt.in)
		if err != nil {
			t.Errorf("ParseHostList(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseHostList(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseHostListErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "host list: empty"},
		{"  ", "host list: empty"},
		{"a,,b", `host list "a,,b": entry 2 is empty`},
		{"a,", `host list "a,": entry 2 is empty`},
		{",a", `host list ",a": entry 1 is empty`},
		{"a:x", `host list "a:x": entry 1: bad slots value "x"`},
		{"a:-1", `host list "a:-1": entry 1: bad slots value "-1"`},
		{"a,:3", `host list "a,:3": entry 2: missing host name in ":3"`},
		{"a b", `host list "a b": entry 1: invalid character ' ' in host name "a b"`},
		{"a=1", `host list "a=1": entry 1: invalid character '=' in host name "a=1"`},
		{"a:16777216,a:1", `host list "a:16777216,a:1": host "a": too many slots (more than 16777216)`},
	}
	for _, tt := range tests {
		got, err := ParseHostList(tt.in)
		if err == nil {
			t.Errorf("ParseHostList(%q) = %+v, want error", tt.in, got)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("ParseHostList(%q) error\n got %s\nwant %s", tt.in, err, tt.want)
		}
	}
}

func TestTotalSlots(t *testing.T) {
	if n := TotalSlots(nil); n != 0 {
		t.Errorf("TotalSlots(nil) = %d", n)
	}
	if n := TotalSlots([]Host{{"a", 2, 0}, {"b", 0, 0}, {"c", 3, 5}, {"d", -4, 0}}); n != 5 {
		t.Errorf("TotalSlots = %d, want 5", n)
	}
	maxInt := int(^uint(0) >> 1)
	if n := TotalSlots([]Host{{"a", maxInt, 0}, {"b", 1, 0}}); n != maxInt {
		t.Errorf("TotalSlots did not saturate: %d", n)
	}
}

func TestLongInputsAreClippedInErrors(t *testing.T) {
	long := strings.Repeat("é", 5000)
	checks := []error{}
	_, err := ParseHostfile(strings.NewReader(long+" slots=x"), "h")
	checks = append(checks, err)
	_, err = ParseHostList(long + ":x")
	checks = append(checks, err)
	_, err = ExpandNodelist(long + " [")
	checks = append(checks, err)
	_, err = ExpandTasksPerNode(long)
	checks = append(checks, err)
	_, err = Map([]Host{{long, 1, 0}}, 2, MapOptions{})
	checks = append(checks, err)
	for i, err := range checks {
		if err == nil {
			t.Fatalf("case %d: no error", i)
		}
		if len(err.Error()) > 400 {
			t.Errorf("case %d: error not clipped (%d bytes): %.100s", i, len(err.Error()), err)
		}
		if !utf8.ValidString(err.Error()) {
			t.Errorf("case %d: clipping broke UTF-8", i)
		}
	}
}
