package main

import (
	"flag"
	"fmt"
	"image/color"
	"maps"
	"path/filepath"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// kernels draws the results of bench/kernels (columns bench, title, unit,
// series, workers, value): for each bench (triad, gemm) the value against
// workers for the pinned and unpinned series, with the reference series (a
// row with workers 0) as a horizontal line, to <bench>.{png,svg}.
func kernels(args []string) error {
	fs := flag.NewFlagSet("kernels", flag.ExitOnError)
	in := fs.String("in", "kernels.csv", "CSV written by bench/kernels")
	out := fs.String("out", ".", "directory of the plots")
	fs.Parse(args)
	t, err := readTable(*in, "bench", "title", "unit", "series", "workers", "value")
	if err != nil {
		return err
	}
	figs, err := parseKernels(t)
	if err != nil {
		return err
	}
	for _, b := range slices.Sorted(maps.Keys(figs)) {
		f := figs[b]
		if err := plotKernel(filepath.Join(*out, b), f.title, f.unit, f.lines, f.ref, f.refName); err != nil {
			return err
		}
		fmt.Printf("wrote %s.png and %s.svg\n", filepath.Join(*out, b), filepath.Join(*out, b))
	}
	return nil
}

// figure is one bench's points: a series per pinning and a reference.
type figure struct {
	title, unit string
	lines       map[string]plotter.XYs
	ref         float64
	refName     string
}

// parseKernels reads the rows of bench/kernels' CSV into a figure per
// bench. Workers are 0 (the reference) to 1<<20, values finite and not
// negative.
func parseKernels(t *table) (map[string]*figure, error) {
	figs := map[string]*figure{}
	for i := range t.rows {
		b := t.str(i, "bench")
		f := figs[b]
		if f == nil {
			f = &figure{title: t.str(i, "title"), unit: t.str(i, "unit"), lines: map[string]plotter.XYs{}}
			figs[b] = f
		}
		wv, err := t.nums(i, "workers", "value")
		if err != nil {
			return nil, err
		}
		w, v := wv[0], wv[1]
		if !(w >= 0 && w <= 1<<20) || !(v >= 0 && v <= 1e15) {
			return nil, fmt.Errorf("%s:%d: workers %v, value %v out of range", t.name, i+2, w, v)
		}
		if s := t.str(i, "series"); w == 0 {
			f.ref, f.refName = v, s
		} else {
			f.lines[s] = append(f.lines[s], plotter.XY{X: w, Y: v})
		}
	}
	return figs, nil
}

// plotKernel draws value against workers for the pinned and unpinned
// series, with an optional horizontal reference line, to base.png and
// base.svg.
func plotKernel(base, title, unit string, lines map[string]plotter.XYs, ref float64, refName string) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "workers"
	p.Y.Label.Text = unit
	p.Y.Min = 0
	maxW, maxV := 0.0, ref
	for _, xy := range lines {
		for _, pt := range xy {
			maxW, maxV = max(maxW, pt.X), max(maxV, pt.Y)
		}
	}
	p.Y.Max = 1.25 * maxV // room for the legend above the curves
	for i, name := range []string{"pinned", "unpinned"} {
		xy := lines[name]
		if len(xy) == 0 {
			continue
		}
		slices.SortFunc(xy, func(a, b plotter.XY) int { return int(a.X - b.X) })
		l, s, err := plotter.NewLinePoints(xy)
		if err != nil {
			return err
		}
		col := []color.Color{color.RGBA{R: 200, A: 255}, color.RGBA{B: 200, A: 255}}[i]
		l.Color, s.Color = col, col
		if name == "unpinned" {
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		}
		p.Add(l, s)
		p.Legend.Add(name, l, s)
	}
	if ref > 0 {
		l, err := plotter.NewLine(plotter.XYs{{X: 1, Y: ref}, {X: maxW, Y: ref}})
		if err != nil {
			return err
		}
		l.Color = color.Gray{Y: 100}
		l.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
		p.Add(l)
		p.Legend.Add(refName, l)
	}
	p.Legend.Top = true
	p.Legend.Left = true
	for _, ext := range []string{".png", ".svg"} {
		if err := p.Save(6*vg.Inch, 4*vg.Inch, base+ext); err != nil {
			return err
		}
	}
	return nil
}
