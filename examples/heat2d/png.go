package main

import (
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
)

// The image: the (n+2)×(n+2) field, each point a square of cell pixels
// with y upwards (row 0 of the field at the bottom), and a colour bar on the
// right from 0 (bottom, blue) to 1 (top, red). Drawn with the standard
// library only, so the example adds nothing to the module's dependencies;
// the run's figures are in its output, not on the image.
const (
	pngSize  = 480 // the field's side in pixels, at least
	pngGap   = 12  // between field and bar
	pngBarW  = 24
	pngFrame = 8
)

// heatColor maps u in [0, 1] to a diverging blue–grey–red scale (linear
// interpolation through three anchors); values outside are clamped and NaN
// is black.
func heatColor(u float64) color.RGBA {
	if math.IsNaN(u) {
		return color.RGBA{A: 255}
	}
	u = min(max(u, 0), 1)
	anchors := [3][3]float64{{59, 76, 192}, {221, 221, 221}, {180, 4, 38}}
	lo, t := 0, 2*u
	if u > 0.5 {
		lo, t = 1, 2*u-1
	}
	var c [3]uint8
	for i := range c {
		c[i] = uint8(math.Round(anchors[lo][i] + t*(anchors[lo+1][i]-anchors[lo][i])))
	}
	return color.RGBA{R: c[0], G: c[1], B: c[2], A: 255}
}

// fieldImage draws the field (w×w values, row-major) and the colour bar.
func fieldImage(field []float64, w int) *image.RGBA {
	cell := max(1, (pngSize+w-1)/w)
	side := cell * w
	W, H := pngFrame+side+pngGap+pngBarW+pngFrame, pngFrame+side+pngFrame
	img := image.NewRGBA(image.Rect(0, 0, W, H))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	for y := range side {
		r := w - 1 - y/cell // y upwards
		for x := range side {
			img.SetRGBA(pngFrame+x, pngFrame+y, heatColor(field[r*w+x/cell]))
		}
	}
	x0 := pngFrame + side + pngGap
	for y := range side {
		c := heatColor(1 - float64(y)/float64(max(side-1, 1)))
		for x := range pngBarW {
			img.SetRGBA(x0+x, pngFrame+y, c)
		}
	}
	return img
}

// writePNG writes the image of the final field (n interior points a side,
// with its boundary) to path.
func writePNG(path string, field []float64, n int, _ Result) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, fieldImage(field, n+2)); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
