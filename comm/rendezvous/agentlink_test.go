package rendezvous

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestLinkRoundTrip(t *testing.T) {
	for _, tt := range []struct {
		kind LinkKind
		arg  string
		want string // the argument after the round trip
	}{
		{LinkInit, "12345", "12345"},
		{LinkReady, "", ""},
		{LinkBeat, "", ""},
		{LinkClosed, "", ""},
		{LinkAbort, "rank 3 (pid 9) was killed\nby signal 9", "rank 3 (pid 9) was killed by signal 9"},
		{LinkAbort, strings.Repeat("x", 5000), strings.Repeat("x", MaxLinkLine-len("abort \n"))},
	} {
		line := FormatLink(tt.kind, tt.arg)
		if len(line) > MaxLinkLine || bytes.Count(line, []byte{'\n'}) != 1 {
			t.Fatalf("FormatLink(%s, %.20q) = %.40q: not one line within %d bytes", tt.kind, tt.arg, line, MaxLinkLine)
		}
		k, a, err := ParseLink(line)
		if err != nil || k != tt.kind || a != tt.want {
			t.Errorf("ParseLink(%.40q) = %s, %.20q, %v; want %s, %.20q", line, k, a, err, tt.kind, tt.want)
		}
	}
}

func TestLinkMalformed(t *testing.T) {
	for _, s := range []string{"", "init", "init ", "init x1", "init 12345678901", "ready 1", "beat now",
		"hello", "closed\x00", "abort a\rb", strings.Repeat("b", MaxLinkLine+1)} {
		if _, _, err := ParseLink([]byte(s)); !errors.Is(err, ErrBadLink) {
			t.Errorf("ParseLink(%.40q): err %v, want ErrBadLink", s, err)
		}
	}
}

func FuzzParseLink(f *testing.F) {
	for _, s := range []string{"init 1\n", "ready\n", "beat", "closed\n", "abort why\n", "abort\n", "x", "init -1", "\n\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		k, a, err := ParseLink(b)
		if err != nil {
			if !errors.Is(err, ErrBadLink) {
				t.Fatalf("error %v does not wrap ErrBadLink", err)
			}
			return
		}
		// Whatever parses re-encodes to an equivalent message.
		k2, a2, err := ParseLink(FormatLink(k, a))
		if err != nil || k2 != k || a2 != a {
			t.Fatalf("%q: parsed %s %q; re-encoded parses as %s %q, %v", b, k, a, k2, a2, err)
		}
	})
}
