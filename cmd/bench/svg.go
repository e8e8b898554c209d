package main

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// series is one line of a chart.
type series struct {
	name string
	pts  [][2]float64
}

// chart is a line chart with a linear y axis starting at 0.
type chart struct {
	title, xLabel, yLabel string
	logX                  bool
	yMax                  float64   // 0: from the data
	xTicks                []float64 // nil: round values
	series                []series
}

const (
	panelW, panelH = 460.0, 340.0
	marginL        = 70.0
	marginT        = 40.0
	plotW, plotH   = 360.0, 240.0
)

// plot draws the report's charts side by side as an SVG document.
func plot(r *report) string {
	charts := []chart{throughputChart(r), cdfChart(r)}
	if len(r.BranchSweep) > 0 {
		charts = append(charts, branchChart(r))
	}
	var b strings.Builder
	w := panelW * float64(len(charts))
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="11">`+"\n", w, panelH, w, panelH)
	fmt.Fprintf(&b, `<rect width="%.0f" height="%.0f" fill="white"/>`+"\n", w, panelH)
	for i, c := range charts {
		c.render(&b, float64(i)*panelW+marginL, marginT)
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// bySystem groups rows into one series per system, in the rows' order
// (sortRows puts them in measuring order).
func bySystem(rows []stepResult, xy func(stepResult) (float64, float64)) []series {
	var out []series
	at := make(map[string]int)
	for _, row := range rows {
		i, ok := at[row.System]
		if !ok {
			i, at[row.System] = len(out), len(out)
			out = append(out, series{name: row.System})
		}
		x, y := xy(row)
		out[i].pts = append(out[i].pts, [2]float64{x, y})
	}
	return out
}

func throughputChart(r *report) chart {
	c := chart{title: "Committed tx/s against concurrency", xLabel: "concurrent clients", yLabel: "tx/s", logX: true,
		series: bySystem(r.Steps, func(s stepResult) (float64, float64) { return float64(s.Concurrency), s.TxPerSec })}
	c.xTicks = distinctX(c.series)
	return c
}

func cdfChart(r *report) chart {
	c := chart{title: "Latency CDF at each system's best concurrency", xLabel: "latency (ms)", yLabel: "fraction", logX: true, yMax: 1}
	for _, s := range r.Steps {
		if r.Best[s.System] != s.Concurrency {
			continue
		}
		se := series{name: fmt.Sprintf("%s c=%d", s.System, s.Concurrency)}
		for _, p := range s.CDF {
			se.pts = append(se.pts, [2]float64{p.Millis, p.Fraction})
		}
		c.series = append(c.series, se)
	}
	return c
}

func branchChart(r *report) chart {
	c := chart{title: "p50 latency against branches (concurrency 1)", xLabel: "branches per transaction", yLabel: "p50 ms", logX: true,
		series: bySystem(r.BranchSweep, func(s stepResult) (float64, float64) { return float64(s.Branches), s.P50Millis })}
	c.xTicks = distinctX(c.series)
	return c
}

// distinctX lists the x values of the first series (every system is
// measured at the same ones).
func distinctX(ss []series) []float64 {
	if len(ss) == 0 {
		return nil
	}
	var out []float64
	for _, p := range ss[0].pts {
		out = append(out, p[0])
	}
	return out
}

// render draws c with its plot area's top-left corner at (x0, y0).
func (c chart) render(b *strings.Builder, x0, y0 float64) {
	xs, ys := c.ranges()
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" font-size="13" font-weight="bold">%s</text>`+"\n", x0-marginL+10, y0-20, html.EscapeString(c.title))
	c.axes(b, x0, y0, xs, ys)
	for i, s := range c.series {
		color := seriesColor(s.name)
		var pts []string
		for _, p := range s.pts {
			px, py := xs.pos(p[0], x0, plotW, false), ys.pos(p[1], y0, plotH, true)
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px, py))
			if len(s.pts) <= 20 {
				fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", px, py, color)
			}
		}
		fmt.Fprintf(b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.Join(pts, " "), color)
		ly := y0 + 12 + float64(i)*14
		fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="10" height="3" fill="%s"/><text x="%.1f" y="%.1f">%s</text>`+"\n",
			x0+8, ly-4, color, x0+22, ly, html.EscapeString(s.name))
	}
}

// axes draws the frame, grid lines, tick labels and axis labels.
func (c chart) axes(b *strings.Builder, x0, y0 float64, xs, ys scale) {
	fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.0f" height="%.0f" fill="none" stroke="#333"/>`+"\n", x0, y0, plotW, plotH)
	xt := c.xTicks
	if xt == nil {
		xt = xs.ticks()
	}
	for _, t := range xt {
		px := xs.pos(t, x0, plotW, false)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/><text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n",
			px, y0, px, y0+plotH, px, y0+plotH+14, label(t))
	}
	for _, t := range ys.ticks() {
		py := ys.pos(t, y0, plotH, true)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/><text x="%.1f" y="%.1f" text-anchor="end">%s</text>`+"\n",
			x0, py, x0+plotW, py, x0-4, py+4, label(t))
	}
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", x0+plotW/2, y0+plotH+32, html.EscapeString(c.xLabel))
	fmt.Fprintf(b, `<text transform="translate(%.1f %.1f) rotate(-90)" text-anchor="middle">%s</text>`+"\n", x0-50, y0+plotH/2, html.EscapeString(c.yLabel))
}

// ranges computes the scales of both axes from the data.
func (c chart) ranges() (scale, scale) {
	xs := scale{lo: math.Inf(1), hi: math.Inf(-1), log: c.logX}
	ys := scale{lo: 0, hi: c.yMax}
	for _, s := range c.series {
		for _, p := range s.pts {
			if !c.logX || p[0] > 0 {
				xs.lo, xs.hi = math.Min(xs.lo, p[0]), math.Max(xs.hi, p[0])
			}
			if c.yMax == 0 {
				ys.hi = math.Max(ys.hi, p[1]*1.1)
			}
		}
	}
	if math.IsInf(xs.lo, 1) {
		xs.lo, xs.hi = 1, 10
	}
	if ys.hi <= 0 {
		ys.hi = 1
	}
	return xs, ys
}

// seriesColor gives each system the same color in every chart; a series
// name starts with its system's name.
func seriesColor(name string) string {
	sys, _, _ := strings.Cut(name, " ")
	switch {
	case sys == "floor":
		return "#999999"
	case sys == "3-node" && strings.Contains(name, flowParallel.suffix()):
		return "#ff7f0e"
	case sys == "3-node" && strings.Contains(name, flowBegin.suffix()):
		return "#9467bd"
	case sys == "3-node":
		return "#d62728"
	case sys == "1-node":
		return "#1f77b4"
	}
	return "#000000"
}

// label formats a tick value compactly.
func label(v float64) string {
	switch {
	case v >= 1000:
		return fmt.Sprintf("%gk", v/1000)
	default:
		return fmt.Sprintf("%g", math.Round(v*1000)/1000)
	}
}
