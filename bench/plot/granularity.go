package main

import (
	"flag"
	"fmt"
	"image/color"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// granularity draws the results of bench/granularity: speedup of the task
// farm over the serial loop against task duration, one line per number of
// ranks, with the static split of each as a dashed reference and the
// break-even line at 1.
func granularity(args []string) error {
	fs := flag.NewFlagSet("granularity", flag.ExitOnError)
	in := fs.String("in", "results.csv", "CSV written by bench/granularity")
	out := fs.String("out", "granularity", "output path without extension (.png and .svg are written)")
	title := fs.String("title", "Task farm speedup vs task size", "plot title")
	fs.Parse(args)
	return plotGranularity(*in, *out, *title)
}

func plotGranularity(in, out, title string) error {
	t, err := readTable(in, "np", "mode", "grain_units", "task_us", "speedup")
	if err != nil {
		return err
	}
	// The x axis is the task size in units, converted to time with the
	// median time of a unit over all rows, so that the points of every np
	// line up (each row measured its own serial time).
	var perUnit []float64
	for i := range t.rows {
		v, err := t.nums(i, "grain_units", "task_us")
		if err != nil {
			return err
		}
		if g, us := v[0], v[1]; g > 0 && us > 0 {
			perUnit = append(perUnit, us/g)
		}
	}
	slices.Sort(perUnit)
	unitUS := 1.0
	if len(perUnit) > 0 {
		unitUS = perUnit[len(perUnit)/2]
	}
	farm := map[int]plotter.XYs{}
	static := map[int]float64{}
	minX, maxX := math.Inf(1), math.Inf(-1)
	for i := range t.rows {
		v, err := t.nums(i, "np", "grain_units", "speedup")
		if err != nil {
			return err
		}
		if v[0] < 1 || v[0] > 1<<20 || v[0] != math.Trunc(v[0]) {
			return fmt.Errorf("%s:%d: np %v is not a rank count", t.name, i+2, v[0])
		}
		np, x, y := int(v[0]), v[1]*unitUS, v[2]
		switch t.str(i, "mode") {
		case "farm":
			farm[np] = append(farm[np], plotter.XY{X: x, Y: y})
			minX, maxX = math.Min(minX, x), math.Max(maxX, x)
		case "static":
			static[np] = y
		}
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = fmt.Sprintf("task duration, µs (task size in units × %.2f µs per unit, the median measured)", unitUS)
	p.Y.Label.Text = "speedup over the serial loop"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	p.Legend.Left = true

	colors := []color.Color{
		color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 255},
		color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 255},
		color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 255},
		color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 255},
		color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 255},
	}
	nps := make([]int, 0, len(farm))
	for np := range farm {
		nps = append(nps, np)
	}
	slices.Sort(nps)
	for i, np := range nps {
		pts := farm[np]
		slices.SortFunc(pts, func(a, b plotter.XY) int {
			switch {
			case a.X < b.X:
				return -1
			case a.X > b.X:
				return 1
			}
			return 0
		})
		line, points, err := plotter.NewLinePoints(pts)
		if err != nil {
			return err
		}
		c := colors[i%len(colors)]
		line.Color, points.Color = c, c
		line.Width = vg.Points(1.5)
		points.Shape = draw.CircleGlyph{}
		p.Add(line, points)
		p.Legend.Add(fmt.Sprintf("farm, np %d", np), line, points)
		if s, ok := static[np]; ok {
			ref, err := plotter.NewLine(plotter.XYs{{X: minX, Y: s}, {X: maxX, Y: s}})
			if err != nil {
				return err
			}
			ref.Color = c
			ref.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			p.Add(ref)
			p.Legend.Add(fmt.Sprintf("static split, np %d", np), ref)
		}
	}
	one, err := plotter.NewLine(plotter.XYs{{X: minX, Y: 1}, {X: maxX, Y: 1}})
	if err != nil {
		return err
	}
	one.Color = color.Gray{Y: 80}
	one.Width = vg.Points(1)
	p.Add(one)
	p.Legend.Add("break-even (1)", one)
	p.Y.Min = 0
	for _, ext := range []string{".png", ".svg"} {
		if err := p.Save(8*vg.Inch, 5*vg.Inch, out+ext); err != nil {
			return err
		}
	}
	return nil
}
