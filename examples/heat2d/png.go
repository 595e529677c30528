package main

import (
	"fmt"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// grid adapts the (n+2)×(n+2) field to plotter.GridXYZ.
type grid struct {
	f []float64
	w int
}

func (g grid) Dims() (c, r int)   { return g.w, g.w }
func (g grid) Z(c, r int) float64 { return g.f[r*g.w+c] }
func (g grid) X(c int) float64    { return float64(c) / float64(g.w-1) }
func (g grid) Y(r int) float64    { return float64(r) / float64(g.w-1) }

// writePNG draws the field as a heat map with a colour bar.
func writePNG(path string, field []float64, n int, res Result) error {
	cm := moreland.SmoothBlueRed()
	cm.SetMin(0)
	cm.SetMax(1)
	hm := plotter.NewHeatMap(grid{field, n + 2}, cm.Palette(255))
	hm.Min, hm.Max = 0, 1
	hm.Rasterized = true
	p := plot.New()
	p.Title.Text = fmt.Sprintf("heat2d: N=%d, %d steps, max error %.2e", n, res.Steps, res.MaxErr)
	p.X.Label.Text = "x"
	p.Y.Label.Text = "y"
	p.Add(hm)
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1

	bar := plot.New()
	bar.HideY()
	bar.X.Label.Text = "u"
	bar.Add(&plotter.ColorBar{ColorMap: cm})

	const w, h, barH = 5 * vg.Inch, 6 * vg.Inch, vg.Inch
	img := vgimg.New(w, h)
	dc := draw.New(img)
	p.Draw(draw.Crop(dc, 0, 0, barH, 0))
	bar.Draw(draw.Crop(dc, 0, 0, 0, -(h - barH)))
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
