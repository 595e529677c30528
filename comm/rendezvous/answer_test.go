package rendezvous

import (
	"errors"
	"testing"
)

func TestQueryMessages(t *testing.T) {
	for _, s := range []string{"query 1", "query 42 stacks", "state 1 {}", "stack 3", "stack 3 goroutine 1 [select]:"} {
		if _, _, err := ParseLink([]byte(s)); err != nil {
			t.Errorf("ParseLink(%q): %v", s, err)
		}
	}
	for _, s := range []string{"query", "query x", "query 1 heaps", "query +1", "state 1", "state", "stack", "stack -1 x",
		"query 12345678901234567890"} {
		if _, _, err := ParseLink([]byte(s)); !errors.Is(err, ErrBadLink) {
			t.Errorf("ParseLink(%q): err %v, want ErrBadLink", s, err)
		}
	}
	var st RankState
	id, _, err := ParseAnswer(LinkState, `9 {"p":3,"cpu":5,"c":[{"k":"Recv","pe":2,"cp":2,"t":9,"cm":"world","d":12}]}`, &st)
	if err != nil || id != 9 || st.Progress != 3 || len(st.Calls) != 1 || st.Calls[0].Peer != 2 || st.Calls[0].For != 12 {
		t.Fatalf("ParseAnswer: %d %+v %v", id, st, err)
	}
	if _, _, err := ParseAnswer(LinkState, "9 {", &st); !errors.Is(err, ErrBadLink) {
		t.Fatalf("truncated JSON: %v", err)
	}
}

// FuzzParseAnswer decodes arbitrary state arguments: an error wraps
// ErrBadLink, never a panic.
func FuzzParseAnswer(f *testing.F) {
	for _, s := range []string{`1 {}`, `2 {"p":1,"c":[{"k":"Bcast","co":true,"s":4}]}`, `x`, `3 []`, `4 {"c":[null]}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		var st RankState
		if _, _, err := ParseAnswer(LinkState, arg, &st); err != nil && !errors.Is(err, ErrBadLink) {
			t.Fatalf("error %v does not wrap ErrBadLink", err)
		}
	})
}

// FuzzParseStats decodes arbitrary stats arguments: an error wraps
// ErrBadLink, never a panic, and what decodes has no negative field.
func FuzzParseStats(f *testing.F) {
	for _, s := range []string{`{"k":"Send","n":5,"b":320,"t":100,"x":40}`, `{"k":"","t":5,"w":9}`, `{`, `{"n":-1}`, `[]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		s, err := ParseStats(arg)
		if err != nil {
			if !errors.Is(err, ErrBadLink) {
				t.Fatalf("error %v does not wrap ErrBadLink", err)
			}
			return
		}
		if s.Count < 0 || s.Bytes < 0 || s.Total < 0 || s.Max < 0 || s.Wall < 0 {
			t.Fatalf("%q decoded with a negative field: %+v", arg, s)
		}
	})
}

// FuzzParseTrace decodes arbitrary trace arguments: an error wraps
// ErrBadLink, never a panic, and what decodes has sane counts.
func FuzzParseTrace(f *testing.F) {
	for _, s := range []string{`{"e":[{"k":"Send","t":1,"d":2,"p":1,"g":3,"fo":"ab"}]}`, `{"end":true,"n":5,"dropped":2,"ring":3}`, `{"e":[{"d":-1}]}`, `{`, `{"n":1,"dropped":2}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		c, err := ParseTrace(arg)
		if err != nil {
			if !errors.Is(err, ErrBadLink) {
				t.Fatalf("error %v does not wrap ErrBadLink", err)
			}
			return
		}
		if c.Dropped < 0 || c.Dropped > c.Recorded {
			t.Fatalf("%q decoded with bad counts: %+v", arg, c)
		}
	})
}
