package collectives

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

func TestRankList(t *testing.T) {
	for _, c := range []struct {
		rs   []int
		want string
	}{
		{[]int{3}, "3"}, {[]int{0, 1}, "0,1"}, {[]int{0, 1, 2, 4}, "0–2,4"}, {[]int{0, 2, 3, 4, 6, 7}, "0,2–4,6,7"},
	} {
		if got := rankList(c.rs); got != c.want {
			t.Errorf("rankList(%v) = %q, want %q", c.rs, got, c.want)
		}
	}
}

// records builds p check records of a Bcast, then lets edit change them.
func records(p int, edit func(r int, rec []int64)) []int64 {
	recs := make([]int64, p*recWords)
	for r := range p {
		rec := recs[r*recWords : (r+1)*recWords]
		rec[wMagic], rec[wKind], rec[wSeq], rec[wRoot], rec[wCount] = checkMark, int64(kBcast), 12, 0, 5
		edit(r, rec)
	}
	return recs
}

// TestCompareRecords covers what the multi-rank tests cannot reach: a
// sequence number that differs (a collective started without its check),
// a missing record, a long op name.
func TestCompareRecords(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(r int, rec []int64)
		want string // "" for no error
	}{
		{"agree", func(int, []int64) {}, ""},
		{"seq", func(r int, rec []int64) {
			if r == 3 {
				rec[wSeq] = 13
			}
		}, "Bcast on world #12: rank 3 is at collective #13, ranks 0–2,4 are at collective #12 on world (a rank skipped"},
		{"root and count", func(r int, rec []int64) {
			if r == 3 {
				rec[wRoot], rec[wCount] = 1, 6
			}
		}, "Bcast on world #12: rank 3 has root 1, ranks 0–2,4 have root 0; rank 3 has count 6, ranks 0–2,4 have count 5"},
		{"no record", func(r int, rec []int64) {
			if r == 2 {
				rec[wMagic] = 0
			}
		}, "rank 2 sent no check record"},
		{"long op names", func(r int, rec []int64) {
			name := "a-very-long-operation-name"
			if r == 4 {
				name += "2"
			}
			rec[wOp], rec[wWidth], rec[wCommut] = hashString(name), 1, 1
			putName(rec[wOpName:wOpName+opNameWords], name)
		}, `rank 4 has op "a-very-long-operation-na" #`},
	} {
		err := compareRecords(records(5, c.edit), 5, "world")
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (!errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
}

// FuzzCompareRecords: whatever the records a peer sends, comparing them
// returns nil or an error, never panics.
func FuzzCompareRecords(f *testing.F) {
	f.Add(uint8(3), []byte{})
	f.Add(uint8(5), make([]byte, 5*recWords*8))
	f.Fuzz(func(t *testing.T, np uint8, data []byte) {
		p := int(np%9) + 1
		recs := records(p, func(r int, rec []int64) {
			for w := range rec {
				if i := (r*recWords + w) * 8; i+8 <= len(data) {
					var x int64
					for j := range 8 {
						x |= int64(data[i+j]) << (8 * j)
					}
					rec[w] = x
				}
			}
		})
		err := compareRecords(recs, p, "world")
		if err != nil && !errors.Is(err, ErrMismatch) {
			t.Fatalf("error without ErrMismatch: %v", err)
		}
	})
}

// BenchmarkCheckOff is what every collective pays for checking when it is
// off: the call's description and the test of the setting.
func BenchmarkCheckOff(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w, err := commtest.Start(ctx, 2, comm.Config{Check: comm.Off})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		w.Store.Set(context.Background(), "abort", []byte("done"))
		w.Close()
	}()
	c := w.Comms[0]
	cfg, _ := setup("bcast", nil)
	b.ReportAllocs()
	for b.Loop() {
		k := callOf(kBcast, cfg)
		k.root, k.count = 0, 8
		if err := check[float32](ctx, c, c, k); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheckOffBaseline(b *testing.B) {
	cfg, _ := setup("bcast", nil)
	var n int
	for b.Loop() {
		k := callOf(kBcast, cfg)
		k.root, k.count = 0, 8
		n += k.count
	}
	_ = n
}
