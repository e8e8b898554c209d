package main

import (
	"math"
	"slices"
	"time"
)

// percentile returns the nearest-rank p-th percentile (0 < p <= 100) of
// sorted, which must be in ascending order; 0 for an empty slice.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// cdfPoint is one point of a latency CDF: Fraction of transactions took at
// most Millis.
type cdfPoint struct {
	Millis   float64 `json:"ms"`
	Fraction float64 `json:"fraction"`
}

// cdf samples the CDF of sorted at up to n evenly spaced ranks, always
// including the slowest transaction.
func cdf(sorted []time.Duration, n int) []cdfPoint {
	if len(sorted) == 0 || n <= 0 {
		return nil
	}
	step := max(len(sorted)/n, 1)
	var out []cdfPoint
	for i := step - 1; i < len(sorted); i += step {
		out = append(out, cdfPoint{millis(sorted[i]), float64(i+1) / float64(len(sorted))})
	}
	if last := len(sorted) - 1; out[len(out)-1].Fraction < 1 {
		out = append(out, cdfPoint{millis(sorted[last]), 1})
	}
	return out
}

// sortedCopy returns the latencies in ascending order.
func sortedCopy(lat []time.Duration) []time.Duration {
	s := slices.Clone(lat)
	slices.Sort(s)
	return s
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
