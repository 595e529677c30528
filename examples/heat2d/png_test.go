package main

import (
	"bytes"
	"image/png"
	"math"
	"testing"
)

// The image has the field's orientation (row 0 at the bottom) and colour
// scale: a field hot in its top row and cold elsewhere shows red at the top
// left and blue at the bottom left, and the bar runs from red to blue.
func TestFieldImage(t *testing.T) {
	for _, w := range []int{3, 26, 700} {
		field := make([]float64, w*w)
		for c := range w {
			field[(w-1)*w+c] = 1
		}
		field[0] = math.NaN()
		var buf bytes.Buffer
		if err := png.Encode(&buf, fieldImage(field, w)); err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(&buf)
		if err != nil {
			t.Fatal(err)
		}
		cell := max(1, (pngSize+w-1)/w)
		side := cell * w
		b := img.Bounds()
		if b.Dx() != 2*pngFrame+side+pngGap+pngBarW || b.Dy() != 2*pngFrame+side {
			t.Fatalf("w=%d: image %v", w, b)
		}
		at := func(x, y int) [3]uint32 {
			r, g, bl, _ := img.At(x, y).RGBA()
			return [3]uint32{r >> 8, g >> 8, bl >> 8}
		}
		hot, cold, black := [3]uint32{180, 4, 38}, [3]uint32{59, 76, 192}, [3]uint32{0, 0, 0}
		top, bottom := pngFrame, pngFrame+side-1
		if got := at(pngFrame+side-1, top); got != hot {
			t.Errorf("w=%d: top row %v, want %v", w, got, hot)
		}
		if got := at(pngFrame+side-1, bottom); got != cold {
			t.Errorf("w=%d: bottom row %v, want %v", w, got, cold)
		}
		if got := at(pngFrame, bottom); got != black {
			t.Errorf("w=%d: NaN at (0,0) drawn %v, want %v", w, got, black)
		}
		bar := pngFrame + side + pngGap
		if at(bar, top) != hot || at(bar, bottom) != cold {
			t.Errorf("w=%d: bar %v .. %v", w, at(bar, top), at(bar, bottom))
		}
	}
}
