package main

import (
	"flag"
	"fmt"
	"maps"
	"path/filepath"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// series is one example's times against rank counts, in rank-count order.
type series struct {
	name string
	np   []int
	t    []float64
}

// scaling draws the results of bench/scaling (columns mode, example, np,
// seconds, ncpu): strong-scaling speedup and weak-scaling efficiency
// against the rank count, to strong.{png,svg} and weak.{png,svg}.
func scaling(args []string) error {
	fs := flag.NewFlagSet("scaling", flag.ExitOnError)
	in := fs.String("in", "scaling.csv", "CSV written by bench/scaling")
	out := fs.String("out", ".", "directory of the plots")
	fs.Parse(args)
	t, err := readTable(*in, "mode", "example", "np", "seconds", "ncpu")
	if err != nil {
		return err
	}
	strong, weak, ncpu, err := parseScaling(t)
	if err != nil {
		return err
	}
	files, err := plotScaling(*out, strong, weak, ncpu)
	if err != nil {
		return err
	}
	fmt.Println("wrote", files)
	return nil
}

// parseScaling reads the rows of bench/scaling's CSV into the strong and
// weak series (sorted by example name, each in row order, at least one
// rank count, positive times) and the host's CPU count.
func parseScaling(t *table) (strong, weak []series, ncpu int, err error) {
	bySeries := map[string]map[string]*series{"strong": {}, "weak": {}}
	ncpu = 1
	for i := range t.rows {
		mode, ex := t.str(i, "mode"), t.str(i, "example")
		m, ok := bySeries[mode]
		if !ok {
			return nil, nil, 0, fmt.Errorf("%s:%d: mode %q, want strong or weak", t.name, i+2, mode)
		}
		v, err := t.nums(i, "np", "seconds", "ncpu")
		if err != nil {
			return nil, nil, 0, err
		}
		if v[0] < 1 || v[0] > 1<<20 || !(v[1] > 0) || v[1] > 1e9 || v[2] < 1 || v[2] > 1<<20 {
			return nil, nil, 0, fmt.Errorf("%s:%d: np %v, seconds %v, ncpu %v out of range", t.name, i+2, v[0], v[1], v[2])
		}
		ncpu = max(ncpu, int(v[2]))
		s := m[ex]
		if s == nil {
			s = &series{name: ex}
			m[ex] = s
		}
		s.np, s.t = append(s.np, int(v[0])), append(s.t, v[1])
	}
	list := func(m map[string]*series) []series {
		var ss []series
		for _, name := range slices.Sorted(maps.Keys(m)) {
			ss = append(ss, *m[name])
		}
		return ss
	}
	return list(bySeries["strong"]), list(bySeries["weak"]), ncpu, nil
}

// plotScaling draws strong-scaling speedup and weak-scaling efficiency
// against the rank count, as PNG and SVG, and returns the files written.
func plotScaling(dir string, strong, weak []series, ncpu int) ([]string, error) {
	var files []string
	maxNP := 1
	for _, s := range append(slices.Clone(strong), weak...) {
		maxNP = max(maxNP, slices.Max(s.np))
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
	for _, name := range []string{"strong", "weak"} {
		p := map[string]*plot.Plot{"strong": sp, "weak": wp}[name]
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
