package main

import (
	"testing"
	"time"
)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = ms(i + 1) // 1..100 ms
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one value", []time.Duration{ms(7)}, 99.9, ms(7)},
		{"median of 100", hundred, 50, ms(50)},
		{"p99 of 100", hundred, 99, ms(99)},
		{"p99.9 of 100 is the max", hundred, 99.9, ms(100)},
		{"p100", hundred, 100, ms(100)},
		{"tiny p is the min", hundred, 0.001, ms(1)},
		{"nearest rank rounds up", []time.Duration{ms(1), ms(2), ms(3)}, 50, ms(2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Fatalf("percentile(%v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}

func TestCDFEndsAtTheSlowest(t *testing.T) {
	lat := sortedCopy([]time.Duration{ms(5), ms(1), ms(3), ms(9), ms(2)})
	pts := cdf(lat, 2)
	if len(pts) == 0 || pts[len(pts)-1] != (cdfPoint{9, 1}) {
		t.Fatalf("cdf = %v, want it to end at {9 ms, 1}", pts)
	}
	for i := 1; i < len(pts); i++ {
		if pts[i].Millis < pts[i-1].Millis || pts[i].Fraction <= pts[i-1].Fraction {
			t.Fatalf("cdf is not increasing: %v", pts)
		}
	}
	if cdf(nil, 10) != nil {
		t.Fatal("cdf of nothing is not empty")
	}
}
