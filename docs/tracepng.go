//go:build ignore

// tracepng draws a window of a gorun --trace file as a PNG, with the
// standard library only (for the README's picture; open the trace itself
// in ui.perfetto.dev):
//
//	go run docs/tracepng.go -from 500000 -span 3000 trace.json out.png
//
// Each rank is a band, each of its tracks a row; a slice is a box colored
// by its call (legend: colors below), a message a grey line from its send
// to its receive. -from and -span are in microseconds from the trace's
// start.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
)

var colors = map[string]color.RGBA{
	"Wait":      {66, 133, 244, 255}, // blue
	"Allreduce": {244, 160, 0, 255},  // orange
	"Isend":     {15, 157, 88, 255},  // green
	"Irecv":     {0, 172, 193, 255},  // teal
	"Send":      {15, 157, 88, 255},  // green
	"Recv":      {0, 172, 193, 255},  // teal
	"Barrier":   {219, 68, 55, 255},  // red
	"Bcast":     {171, 71, 188, 255}, // purple
	"Gatherv":   {121, 85, 72, 255},  // brown
}

type event struct {
	Name string  `json:"name"`
	Ph   string  `json:"ph"`
	Ts   float64 `json:"ts"`
	Dur  float64 `json:"dur"`
	Pid  int     `json:"pid"`
	Tid  int     `json:"tid"`
	ID   string  `json:"id"`
}

func main() {
	from := flag.Float64("from", 0, "window start, µs from the trace's start")
	span := flag.Float64("span", 2000, "window length, µs")
	width := flag.Int("w", 1200, "width in pixels")
	flag.Parse()
	if flag.NArg() != 2 {
		fmt.Fprintln(os.Stderr, "usage: go run docs/tracepng.go [-from µs] [-span µs] trace.json out.png")
		os.Exit(2)
	}
	b, err := os.ReadFile(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var tf struct {
		TraceEvents []event `json:"traceEvents"`
	}
	if err := json.Unmarshal(b, &tf); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ranks, tracks := 0, map[int]int{}
	for _, e := range tf.TraceEvents {
		if e.Ph == "X" {
			ranks = max(ranks, e.Pid+1)
			tracks[e.Pid] = max(tracks[e.Pid], e.Tid+1)
		}
	}
	const rowH, gap, margin = 30, 14, 10
	rowY := map[[2]int]int{}
	y := margin
	for r := range ranks {
		for t := range max(1, tracks[r]) {
			rowY[[2]int{r, t}] = y
			y += rowH
		}
		y += gap
	}
	img := image.NewRGBA(image.Rect(0, 0, *width, y+margin-gap))
	fill(img, img.Bounds(), color.RGBA{255, 255, 255, 255})
	x := func(ts float64) int { return margin + int((ts-*from)/(*span)*float64(*width-2*margin)) }
	for r := range ranks { // band backgrounds
		y0 := rowY[[2]int{r, 0}]
		fill(img, image.Rect(margin, y0, *width-margin, y0+rowH*max(1, tracks[r])), color.RGBA{240, 240, 240, 255})
	}
	pos := map[string][2]image.Point{}
	for _, e := range tf.TraceEvents {
		switch e.Ph {
		case "X":
			if e.Ts+e.Dur < *from || e.Ts > *from+*span {
				continue
			}
			c, ok := colors[e.Name]
			if !ok {
				c = color.RGBA{120, 120, 120, 255}
			}
			y0 := rowY[[2]int{e.Pid, e.Tid}]
			x0, x1 := x(e.Ts), max(x(e.Ts+e.Dur), x(e.Ts)+1)
			fill(img, image.Rect(max(x0, margin), y0+2, min(x1, *width-margin), y0+rowH-2), c)
		case "s", "f":
			p := pos[e.ID]
			pt := image.Pt(x(e.Ts), rowY[[2]int{e.Pid, e.Tid}]+rowH/2)
			if e.Ph == "s" {
				p[0] = pt
			} else {
				p[1] = pt
			}
			pos[e.ID] = p
		}
	}
	for _, p := range pos {
		if (p[0].X >= margin && p[0].X <= *width-margin) || (p[1].X >= margin && p[1].X <= *width-margin) {
			line(img, p[0], p[1], color.RGBA{90, 90, 90, 255})
		}
	}
	f, err := os.Create(flag.Arg(1))
	if err == nil {
		err = png.Encode(f, img)
		f.Close()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetRGBA(x, y, c)
		}
	}
}

// line draws from a to b (Bresenham), clipped to the image.
func line(img *image.RGBA, a, b image.Point, c color.RGBA) {
	dx, dy := abs(b.X-a.X), -abs(b.Y-a.Y)
	sx, sy := sign(b.X-a.X), sign(b.Y-a.Y)
	err := dx + dy
	for n := 0; n < 100000; n++ {
		if (image.Point{a.X, a.Y}).In(img.Bounds()) {
			img.SetRGBA(a.X, a.Y, c)
		}
		if a == b {
			return
		}
		e2 := 2 * err
		if e2 >= dy {
			err += dy
			a.X += sx
		}
		if e2 <= dx {
			err += dx
			a.Y += sy
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func sign(v int) int {
	switch {
	case v < 0:
		return -1
	case v > 0:
		return 1
	}
	return 0
}
