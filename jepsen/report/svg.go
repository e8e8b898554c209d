package report

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/arbiter-tx/arbiter/jepsen/history"
)

// frame maps run time (x, seconds) and a value (y, already scaled to
// [0,1]) onto an SVG canvas.
type frame struct {
	w, h, left, right, top, bottom float64
	span                           float64 // seconds shown on the x axis
}

func newFrame(h float64, run *history.Run) frame {
	return frame{w: 960, h: h, left: 60, right: 20, top: 46, bottom: 30, span: runSpan(run)}
}

func (f frame) x(d time.Duration) float64 {
	return f.left + (f.w-f.left-f.right)*math.Min(d.Seconds()/f.span, 1)
}

// y maps v in [0,1] to the canvas, 0 at the bottom.
func (f frame) y(v float64) float64 { return f.h - f.bottom - (f.h-f.top-f.bottom)*v }

// runSpan is the run's length in seconds: its duration, or the latest op or
// fault if later.
func runSpan(run *history.Run) float64 {
	end := run.Duration
	for _, op := range run.Ops {
		end = max(end, op.End)
	}
	for _, f := range run.Faults {
		end = max(end, f.End)
	}
	return math.Max(end.Seconds(), 1)
}

func (f frame) open(b *strings.Builder, label string) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-size="11" font-family="sans-serif">`+"\n", f.w, f.h)
	fmt.Fprintf(b, `<text x="4" y="%.0f" transform="rotate(-90 12 %.0f)">%s</text>`+"\n", f.h/2, f.h/2, label)
}

// faults shades every fault window and labels it with its kind.
func (f frame) faults(b *strings.Builder, faults []history.Fault) {
	for i, flt := range faults {
		end := flt.End
		if end <= flt.Start {
			end = time.Duration(f.span * float64(time.Second)) // never healed
		}
		x0, x1 := f.x(flt.Start), f.x(end)
		fmt.Fprintf(b, `<rect x="%.1f" y="%.0f" width="%.1f" height="%.0f" fill="%s" fill-opacity="0.35"><title>%s</title></rect>`+"\n",
			x0, f.top, math.Max(x1-x0, 1), f.h-f.top-f.bottom, faultColor(flt.Kind, faults), esc(faultTitle(flt)))
		fmt.Fprintf(b, `<text x="%.1f" y="%.0f" fill="#555">%s</text>`+"\n", x0+2, f.top-4-float64(i%2)*11, esc(flt.Kind))
	}
}

func faultTitle(f history.Fault) string {
	return fmt.Sprintf("%s %s [%s, %s] %s", f.Kind, strings.Join(f.Targets, ","), secs(f.Start), faultEnd(f), f.Detail)
}

// xAxis draws the frame's box and a tick every few seconds.
func (f frame) xAxis(b *strings.Builder) {
	fmt.Fprintf(b, `<rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" fill="none" stroke="#999"/>`+"\n",
		f.left, f.top, f.w-f.left-f.right, f.h-f.top-f.bottom)
	step := niceStep(f.span / 10)
	for s := 0.0; s <= f.span; s += step {
		x := f.x(time.Duration(s * float64(time.Second)))
		fmt.Fprintf(b, `<text x="%.1f" y="%.0f" text-anchor="middle">%gs</text>`+"\n", x, f.h-f.bottom+14, s)
	}
}

// niceStep rounds v up to 1, 2 or 5 times a power of ten.
func niceStep(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func outcomeColor(outcome string) string {
	switch outcome {
	case history.OutcomeCommit:
		return "#2a9d3a"
	case history.OutcomeAbort:
		return "#e07b00"
	case history.OutcomeFail:
		return "#c62828"
	}
	return "#777"
}

var faultPalette = []string{"#f4b6b6", "#b6cdf4", "#f4e3a1", "#c9b6f4", "#b6f4d8", "#f4c9a1"}

// faultColor gives each fault kind of the run its own colour.
func faultColor(kind string, faults []history.Fault) string {
	var kinds []string
	for _, f := range faults {
		if !slices.Contains(kinds, f.Kind) {
			kinds = append(kinds, f.Kind)
		}
	}
	return faultPalette[max(slices.Index(kinds, kind), 0)%len(faultPalette)]
}

func legend(b *strings.Builder, f frame, items []string) {
	x := f.w - f.right - 80*float64(len(items))
	for i, it := range items {
		fmt.Fprintf(b, `<circle cx="%.0f" cy="12" r="4" fill="%s"/><text x="%.0f" y="16">%s</text>`+"\n",
			x+80*float64(i), outcomeColor(it), x+80*float64(i)+8, esc(it))
	}
}
