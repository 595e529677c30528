package comm

import (
	"errors"
	"testing"
)

// FuzzParseHostEntry: a host entry either decodes to a known transport and
// a non-empty identity that encode back to the same bytes, or is refused
// with ErrProtocol; never a panic.
func FuzzParseHostEntry(f *testing.F) {
	for _, s := range []string{"auto 9e05cf37/node1", "shm h", "tcp a b", "", " ", "udp h", "auto ", "shm"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		mode, host, err := parseHostEntry(b)
		if err != nil {
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("%q: %v, want ErrProtocol", b, err)
			}
			return
		}
		if host == "" || mode+" "+host != string(b) {
			t.Fatalf("%q decodes to %q, %q", b, mode, host)
		}
	})
}
