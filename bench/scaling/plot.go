package main

import (
	"fmt"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// plotAll draws strong-scaling speedup and weak-scaling efficiency against
// the rank count, as PNG and SVG, and returns the files written.
func plotAll(dir string, strong, weak []series, ncpu int) ([]string, error) {
	var files []string
	maxNP := 1
	for _, s := range strong {
		maxNP = max(maxNP, s.np[len(s.np)-1])
	}
	mk := func(title, ylabel string, ss []series, value func(s series, i int) float64, ideal, limit func(np float64) float64, ymax float64) (*plot.Plot, error) {
		p := plot.New()
		p.Title.Text = title
		p.X.Label.Text = fmt.Sprintf("ranks (host has %d CPUs; beyond that oversubscribed)", ncpu)
		p.Y.Label.Text = ylabel
		p.Legend.Top = true
		p.Legend.Left = true
		var args []any
		for _, s := range ss {
			pts := make(plotter.XYs, len(s.np))
			for i := range s.np {
				pts[i].X, pts[i].Y = float64(s.np[i]), value(s, i)
			}
			args = append(args, s.name, pts)
		}
		if err := plotutil.AddLinePoints(p, args...); err != nil {
			return nil, err
		}
		id := plotter.NewFunction(ideal)
		id.Dashes = []vg.Length{vg.Points(4), vg.Points(4)}
		id.XMin, id.XMax = 1, float64(maxNP)
		p.Add(id)
		p.Legend.Add("ideal", id)
		lim := plotter.NewFunction(limit)
		lim.Dashes = []vg.Length{vg.Points(1), vg.Points(3)}
		lim.XMin, lim.XMax = 1, float64(maxNP)
		p.Add(lim)
		p.Legend.Add(fmt.Sprintf("best possible on %d CPUs", ncpu), lim)
		p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0.8, float64(maxNP)+0.2, 0, ymax
		return p, nil
	}
	sp, err := mk("Strong scaling (fixed problem)", "speedup T(1)/T(p)", strong,
		func(s series, i int) float64 { return s.t[0] * float64(s.np[0]) / s.t[i] },
		func(np float64) float64 { return np },
		func(np float64) float64 { return min(np, float64(ncpu)) }, float64(maxNP)+0.5)
	if err != nil {
		return nil, err
	}
	wp, err := mk("Weak scaling (fixed work per rank)", "efficiency T(1)/T(p)", weak,
		func(s series, i int) float64 { return s.t[0] / s.t[i] },
		func(float64) float64 { return 1 },
		func(np float64) float64 { return min(1, float64(ncpu)/np) }, 1.15)
	if err != nil {
		return nil, err
	}
	wp.Legend.Top = false // the curves fall from the top left
	for name, p := range map[string]*plot.Plot{"strong": sp, "weak": wp} {
		for _, ext := range []string{"png", "svg"} {
			f := filepath.Join(dir, name+"."+ext)
			if err := p.Save(6*vg.Inch, 4*vg.Inch, f); err != nil {
				return nil, err
			}
			files = append(files, f)
		}
	}
	return files, nil
}
