package report

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/arbiter-tx/arbiter/jepsen/history"
)

// minLatency is the floor of the latency axis, in milliseconds.
const minLatency = 0.1

// latencySVG plots every completed op: x = start, y = latency on a log
// scale, coloured by outcome, over the shaded fault windows.
func latencySVG(run *history.Run) string {
	var b strings.Builder
	f := newFrame(340, run)
	f.open(&b, "latency (ms, log)")
	f.faults(&b, run.Faults)
	lo, hi := latencyDecades(run.Ops)
	scale := func(ms float64) float64 { return (math.Log10(math.Max(ms, minLatency)) - lo) / (hi - lo) }
	for d := lo; d <= hi; d++ {
		y := f.y((d - lo) / (hi - lo))
		fmt.Fprintf(&b, `<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#eee"/><text x="%.0f" y="%.1f" text-anchor="end">%g</text>`+"\n",
			f.left, f.w-f.right, y, y, f.left-4, y+4, math.Pow(10, d))
	}
	for _, op := range run.Ops {
		if op.End <= 0 {
			continue
		}
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="2" fill="%s" fill-opacity="0.7"/>`+"\n",
			f.x(op.Start), f.y(scale(latencyMS(op))), outcomeColor(op.Outcome))
	}
	f.xAxis(&b)
	legend(&b, f, outcomes)
	b.WriteString("</svg>\n")
	return b.String()
}

func latencyMS(op history.Op) float64 {
	return float64(max(op.End-op.Start, 0)) / float64(time.Millisecond)
}

// latencyDecades returns the powers of ten that bound every latency.
func latencyDecades(ops []history.Op) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, op := range ops {
		if op.End > 0 {
			l := math.Log10(math.Max(latencyMS(op), minLatency))
			lo, hi = math.Min(lo, math.Floor(l)), math.Max(hi, math.Ceil(l))
		}
	}
	if math.IsInf(lo, 1) {
		return 0, 3
	}
	if hi <= lo {
		hi = lo + 1
	}
	return lo, hi
}

// throughputSVG draws ops completed per second, all ops and commits only,
// over the shaded fault windows.
func throughputSVG(run *history.Run) string {
	var b strings.Builder
	f := newFrame(220, run)
	f.open(&b, "ops/s")
	f.faults(&b, run.Faults)
	all, commits := perSecond(run.Ops, int(math.Ceil(f.span)))
	peak := 1
	for _, n := range all {
		peak = max(peak, n)
	}
	fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" text-anchor="end">%d</text><text x="%.0f" y="%.1f" text-anchor="end">0</text>`+"\n",
		f.left-4, f.y(1)+4, peak, f.left-4, f.y(0)+4)
	polyline(&b, f, all, peak, "#1f5fbf")
	polyline(&b, f, commits, peak, outcomeColor(history.OutcomeCommit))
	f.xAxis(&b)
	fmt.Fprintf(&b, `<text x="%.0f" y="16" fill="#1f5fbf">all ops</text><text x="%.0f" y="16" fill="%s">committed</text>`+"\n",
		f.w-f.right-160, f.w-f.right-80, outcomeColor(history.OutcomeCommit))
	b.WriteString("</svg>\n")
	return b.String()
}

// perSecond buckets completed ops by the second they ended in.
func perSecond(ops []history.Op, seconds int) (all, commits []int) {
	all, commits = make([]int, seconds), make([]int, seconds)
	for _, op := range ops {
		if op.End <= 0 {
			continue
		}
		i := min(int(op.End/time.Second), seconds-1)
		all[i]++
		if op.Outcome == history.OutcomeCommit {
			commits[i]++
		}
	}
	return all, commits
}

func polyline(b *strings.Builder, f frame, counts []int, peak int, color string) {
	pts := make([]string, len(counts))
	for i, n := range counts {
		x := f.x(time.Duration(i)*time.Second + time.Second/2)
		pts[i] = fmt.Sprintf("%.1f,%.1f", x, f.y(float64(n)/float64(peak)))
	}
	fmt.Fprintf(b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="1.5"/>`+"\n", strings.Join(pts, " "), color)
}
