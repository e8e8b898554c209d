package main

import "math"

// scale maps data values to pixels along one axis, linearly or by log10.
type scale struct {
	lo, hi float64
	log    bool
}

// f is the value in the axis' own units (log10 for a log axis).
func (s scale) f(v float64) float64 {
	if s.log {
		return math.Log10(math.Max(v, 1e-9))
	}
	return v
}

// pos maps v into [start, start+length]; flip puts low values at the end
// (the y axis grows upwards).
func (s scale) pos(v, start, length float64, flip bool) float64 {
	lo, hi := s.f(s.lo), s.f(s.hi)
	if hi <= lo {
		lo, hi = lo-1, hi+1
	}
	frac := (s.f(v) - lo) / (hi - lo)
	frac = math.Max(0, math.Min(1, frac))
	if flip {
		frac = 1 - frac
	}
	return start + frac*length
}

// ticks returns round values inside the range: 1-2-5 per decade on a log
// axis, about five evenly spaced ones on a linear axis.
func (s scale) ticks() []float64 {
	if s.log {
		return logTicks(s.lo, s.hi)
	}
	step := niceStep(s.hi - s.lo)
	var out []float64
	for v := math.Ceil(s.lo/step) * step; v <= s.hi+step*1e-9; v += step {
		out = append(out, v)
	}
	return out
}

func logTicks(lo, hi float64) []float64 {
	var out []float64
	for d := math.Floor(math.Log10(lo)); d <= math.Ceil(math.Log10(hi)); d++ {
		for _, m := range []float64{1, 2, 5} {
			if v := m * math.Pow(10, d); v >= lo*0.999 && v <= hi*1.001 {
				out = append(out, v)
			}
		}
	}
	return out
}

// niceStep is a 1, 2 or 5 times a power of ten near span/5.
func niceStep(span float64) float64 {
	raw := span / 5
	if raw <= 0 {
		return 1
	}
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5} {
		if m*mag >= raw {
			return m * mag
		}
	}
	return 10 * mag
}
