package parallel

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func TestFrameRoundTrip(t *testing.T) {
	for _, f := range []frame{
		{kind: kindTask, id: 1, name: "add", payload: []byte{0x92, 1, 2}},
		{kind: kindTask, id: 1 << 40, name: "x", payload: []byte{}},
		{kind: kindResult, id: 7, status: resultErr, payload: []byte("boom")},
		{kind: kindStop, mode: byte(Cancel)},
		{kind: kindBye},
	} {
		b := f.encode(nil)
		g, err := decodeFrame(b)
		if err != nil {
			t.Fatalf("%+v: %v", f, err)
		}
		if g.kind != f.kind || g.id != f.id || g.name != f.name || g.status != f.status || g.mode != f.mode || !bytes.Equal(g.payload, f.payload) {
			t.Fatalf("decoded %+v, sent %+v", g, f)
		}
	}
	for _, b := range [][]byte{nil, {9}, {kindTask}, {kindTask, 1, 5, 'a'}, {kindResult, 1, 3}, {kindStop, 0}, {kindBye, 0},
		{kindTask, 0x80, 0x00, 0, 0} /* a non-minimal varint */} {
		if _, err := decodeFrame(b); err == nil {
			t.Errorf("decodeFrame(%x) accepted", b)
		}
	}
}

// FuzzDecodeFrame: arbitrary bytes never panic, and whatever decodes
// encodes back to the same bytes.
func FuzzDecodeFrame(f *testing.F) {
	f.Add((&frame{kind: kindTask, id: 3, name: "f", payload: []byte{1}}).encode(nil))
	f.Add((&frame{kind: kindResult, id: 3, payload: []byte{1}}).encode(nil))
	f.Add([]byte{kindStop, byte(Drain)})
	f.Add([]byte{kindBye})
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := decodeFrame(b)
		if err != nil {
			return
		}
		if again := g.encode(nil); !bytes.Equal(again, b) {
			t.Fatalf("decoded %x as %+v, which encodes as %x", b, g, again)
		}
	})
}

func TestBatchRoundTrip(t *testing.T) {
	var b, scratch []byte
	fs := []frame{{kind: kindTask, id: 1, name: "a", payload: []byte{1, 2}}, {kind: kindResult, id: 2, payload: []byte{}}, {kind: kindBye}}
	for i := range fs {
		b, scratch = appendFramed(b, scratch, &fs[i])
	}
	got, err := decodeBatch(nil, b, nil)
	if err != nil || len(got) != 3 || got[0].name != "a" || got[1].id != 2 || got[2].kind != kindBye {
		t.Fatalf("decodeBatch: %+v %v", got, err)
	}
	for _, bad := range [][]byte{nil, {0}, {5, kindBye}, {1, kindBye, 9}, {0x81, 0x00, kindBye}} {
		if _, err := decodeBatch(nil, bad, nil); err == nil {
			t.Errorf("decodeBatch(%x) accepted", bad)
		}
	}
}

// FuzzDecodeBatch: arbitrary bytes never panic, and whatever decodes
// encodes back to the same bytes.
func FuzzDecodeBatch(f *testing.F) {
	var b, scratch []byte
	b, scratch = appendFramed(b, scratch, &frame{kind: kindTask, id: 9, name: "f", payload: []byte{7}})
	b, _ = appendFramed(b, scratch, &frame{kind: kindStop, mode: byte(Drain)})
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		fs, err := decodeBatch(nil, b, nil)
		if err != nil {
			return
		}
		var again, scratch []byte
		for i := range fs {
			again, scratch = appendFramed(again, scratch, &fs[i])
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("decoded %x, re-encoded %x", b, again)
		}
	})
}

// uvarintLen agrees with the encoder at every length boundary.
func TestUvarintLen(t *testing.T) {
	for _, v := range []uint64{0, 1, 127, 128, 1<<14 - 1, 1 << 14, 1<<21 - 1, 1 << 21, 1<<35 + 3, 1<<63 - 1, 1 << 63, ^uint64(0)} {
		if got, want := uvarintLen(v), len(binary.AppendUvarint(nil, v)); got != want {
			t.Errorf("uvarintLen(%d) = %d, want %d", v, got, want)
		}
	}
}
