package shm

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
)

// regionMapped reports whether /proc/self/maps still shows r's file.
func regionMapped(t *testing.T, h Handle) bool {
	t.Helper()
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Skip("no /proc/self/maps")
	}
	return strings.Contains(string(maps), "gorun-win-"+hex.EncodeToString(h.Token[:4]))
}

// Two mappings of one region see each other's stores; the handle travels
// through its encoding; Close unmaps, so nothing of it stays.
func TestRegion(t *testing.T) {
	for _, size := range []int64{0, 1, 4096, 1 << 20} {
		r, err := CreateRegion(size, "")
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		h, err := ParseRegionHandle(AppendRegionHandle(nil, r.Handle()))
		if err != nil || h != r.Handle() {
			t.Fatalf("handle round trip: %+v, %v", h, err)
		}
		o, err := OpenRegion(h)
		if err != nil {
			t.Fatalf("size %d: OpenRegion: %v", size, err)
		}
		r.Release()
		if len(r.Data()) != int(size) || len(o.Data()) != int(size) {
			t.Fatalf("data of %d and %d bytes, want %d", len(r.Data()), len(o.Data()), size)
		}
		if size > 1 {
			r.Data()[size-1] = 7
			o.Data()[0] = 9
			if o.Data()[size-1] != 7 || r.Data()[0] != 9 {
				t.Fatal("the mappings do not share memory")
			}
		}
		*r.Counter() = 42
		if *o.Counter() != 42 {
			t.Fatal("the counters differ")
		}
		if _, err := OpenRegion(h); err == nil {
			t.Fatal("opened after Release")
		}
		if !regionMapped(t, h) {
			t.Fatal("the region does not show in /proc/self/maps while mapped")
		}
		r.Close()
		o.Close()
		o.Close()
		if regionMapped(t, h) {
			t.Fatal("still mapped after Close")
		}
	}
}

func TestRegionBadArguments(t *testing.T) {
	for _, size := range []int64{-1, MaxRegion + 1} {
		if _, err := CreateRegion(size, ""); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("size %d: %v, want ErrInvalidArgument", size, err)
		}
	}
	if m := totalMemory(); m > 0 && m < MaxRegion {
		if _, err := CreateRegion(int64(m), ""); !errors.Is(err, ErrNoSpace) {
			t.Errorf("all the machine's memory: %v, want ErrNoSpace", err)
		}
	}
	r, err := CreateRegion(100, "")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	h := r.Handle()
	wrong := h
	wrong.Token[0] ^= 1
	if _, err := OpenRegion(wrong); !errors.Is(err, ErrBadSegment) {
		t.Errorf("wrong token: %v, want ErrBadSegment", err)
	}
	wrong = h
	wrong.Size = 1
	if _, err := OpenRegion(wrong); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("size 1: %v, want ErrInvalidArgument", err)
	}
	wrong = h
	wrong.Size += 4096
	if _, err := OpenRegion(wrong); !errors.Is(err, ErrBadSegment) {
		t.Errorf("wrong size: %v, want ErrBadSegment", err)
	}
	// A channel segment is not a region, nor a channel handle a region's.
	s, err := Create(Options{RingSize: minRingSize})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := OpenRegion(s.Handle()); !errors.Is(err, ErrBadSegment) {
		t.Errorf("a channel segment: %v, want ErrBadSegment", err)
	}
	b, _ := s.Handle().AppendBinary(nil)
	if _, err := ParseRegionHandle(b); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("a channel handle: %v, want ErrInvalidArgument", err)
	}
}

// FuzzRegionHandle: whatever ParseRegionHandle accepts re-encodes to the
// same bytes; nothing panics.
func FuzzRegionHandle(f *testing.F) {
	r, err := CreateRegion(64, "")
	if err == nil {
		f.Add(AppendRegionHandle(nil, r.Handle()))
		r.Close()
	}
	f.Add(make([]byte, RegionHandleSize))
	f.Add([]byte("GWIN"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseRegionHandle(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("%v does not wrap ErrInvalidArgument", err)
			}
			return
		}
		if out := AppendRegionHandle(nil, h); !bytes.Equal(out, b) {
			t.Fatalf("re-encoded %x, want %x", out, b)
		}
	})
}
