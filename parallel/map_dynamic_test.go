package parallel

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestMapFailureRoundTrip(t *testing.T) {
	for _, c := range []struct {
		off  int
		text string
	}{{0, ""}, {9, "element 9: odd"}, {3, strings.Repeat("x", 2*maxErrText)}} {
		off, text, err := decodeMapFailure(encodeMapFailure(c.off, c.text), 10)
		want := c.text[:min(len(c.text), maxErrText)]
		if err != nil || off != c.off || text != want {
			t.Fatalf("%d %q: got %d %q %v", c.off, c.text[:min(len(c.text), 20)], off, text[:min(len(text), 20)], err)
		}
	}
	for _, b := range [][]byte{nil, {1, 2, 3}, encodeMapFailure(10, "x"), append(encodeMapFailure(1, ""), make([]byte, maxErrText+1)...)} {
		if _, _, err := decodeMapFailure(b, 10); !errors.Is(err, ErrMalformed) {
			t.Fatalf("%v: want ErrMalformed, got %v", b[:min(len(b), 12)], err)
		}
	}
}

// Whatever decodes re-encodes to the same bytes; nothing panics.
func FuzzDecodeMapFailure(f *testing.F) {
	f.Add(encodeMapFailure(3, "boom"), 10)
	f.Add([]byte{}, 1)
	f.Add([]byte{255, 255, 255, 255, 255, 255, 255, 255}, 4)
	f.Fuzz(func(t *testing.T, b []byte, k int) {
		off, text, err := decodeMapFailure(b, k)
		if err != nil {
			return
		}
		if off < 0 || off >= k || !bytes.Equal(encodeMapFailure(off, text), b) {
			t.Fatalf("%x (k %d) decoded to %d %q", b, k, off, text)
		}
	})
}
