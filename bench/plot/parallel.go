package main

import (
	"flag"
	"image/color"
	"slices"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// parallel draws bench/parallel's comparison (the CSV of
// scripts/bench-parallel.sh: workload, peer, np, ..., rate): for every
// workload and rank count, how many times the throughput of each Python
// peer gorun's package parallel reaches (median rate of gorun / median rate
// of the peer), on a log scale, with the goal (10×) and parity (1×) as
// lines, to OUT.png and OUT.svg.
func parallel(args []string) error {
	fs := flag.NewFlagSet("parallel", flag.ExitOnError)
	in := fs.String("in", "results.csv", "CSV written by scripts/bench-parallel.sh")
	out := fs.String("out", "parallel", "output path without extension (.png and .svg are written)")
	fs.Parse(args)
	return plotParallel(*in, *out)
}

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func plotParallel(in, out string) error {
	t, err := readTable(in, "workload", "peer", "np", "rate")
	if err != nil {
		return err
	}
	type key struct{ workload, peer, np string }
	rates := map[key][]float64{}
	for i := range t.rows {
		v, err := t.num(i, "rate")
		if err != nil {
			return err
		}
		k := key{t.str(i, "workload"), t.str(i, "peer"), t.str(i, "np")}
		rates[k] = append(rates[k], v)
	}
	// Groups on the x axis: workload × np, in a fixed order.
	order := map[string]int{"map": 0, "tasks": 1, "latency": 2, "groupby": 3}
	var groups []key
	peers := map[string]bool{}
	for k := range rates {
		if k.peer == "gorun" {
			groups = append(groups, key{k.workload, "", k.np})
		} else {
			peers[k.peer] = true
		}
	}
	sort.Slice(groups, func(i, j int) bool {
		if groups[i].workload != groups[j].workload {
			return order[groups[i].workload] < order[groups[j].workload]
		}
		return groups[i].np < groups[j].np
	})
	p := plot.New()
	p.Title.Text = "package parallel vs the Python peers (median throughput ratio)"
	p.Y.Label.Text = "gorun / peer (log)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	names := make([]string, len(groups))
	for i, g := range groups {
		names[i] = g.workload + " np" + g.np
	}
	p.NominalX(names...)
	peerNames := slices.Sorted(func(yield func(string) bool) {
		for k := range peers {
			if !yield(k) {
				return
			}
		}
	})
	for pi, peer := range peerNames {
		var pts plotter.XYs
		for i, g := range groups {
			go_, ok1 := rates[key{g.workload, "gorun", g.np}]
			py, ok2 := rates[key{g.workload, peer, g.np}]
			if !ok2 && g.workload == "groupby" && peer == "pandas" {
				py, ok2 = rates[key{g.workload, peer, "1"}]
			}
			if ok1 && ok2 {
				pts = append(pts, plotter.XY{X: float64(i) + 0.12*float64(pi) - 0.18, Y: median(go_) / median(py)})
			}
		}
		if len(pts) == 0 {
			continue
		}
		s, err := plotter.NewScatter(pts)
		if err != nil {
			return err
		}
		s.GlyphStyle.Color = plotutil.Color(pi)
		s.GlyphStyle.Shape = plotutil.Shape(pi)
		s.GlyphStyle.Radius = vg.Points(4)
		p.Add(s)
		p.Legend.Add(peer, s)
	}
	for _, ref := range []struct {
		y    float64
		name string
		dash bool
	}{{10, "goal 10×", true}, {1, "parity", false}} {
		l, err := plotter.NewLine(plotter.XYs{{X: -0.5, Y: ref.y}, {X: float64(len(groups)) - 0.5, Y: ref.y}})
		if err != nil {
			return err
		}
		l.Color = color.Gray{Y: 120}
		if ref.dash {
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		}
		p.Add(l)
		p.Legend.Add(ref.name, l)
	}
	// Room above the points for the legend (top right).
	p.Y.Min, p.Y.Max = 0.1, 5000
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	for _, ext := range []string{".png", ".svg"} {
		if err := p.Save(9*vg.Inch, 4.5*vg.Inch, out+ext); err != nil {
			return err
		}
	}
	return nil
}
