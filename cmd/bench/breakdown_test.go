package main

import (
	"strings"
	"testing"
)

const metricsBefore = `# TYPE arbiter_commit_call_seconds histogram
arbiter_commit_call_seconds_bucket{le="+Inf"} 10
arbiter_commit_call_seconds_sum 0.05
arbiter_commit_call_seconds_count 10
# TYPE arbiter_phase_seconds histogram
arbiter_phase_seconds_bucket{phase="prepare",le="+Inf"} 10
arbiter_phase_seconds_sum{phase="prepare"} 0.02
arbiter_phase_seconds_count{phase="prepare"} 10
`

const metricsAfter = `# TYPE arbiter_commit_call_seconds histogram
arbiter_commit_call_seconds_bucket{le="+Inf"} 110
arbiter_commit_call_seconds_sum 0.45
arbiter_commit_call_seconds_count 110
# TYPE arbiter_phase_seconds histogram
arbiter_phase_seconds_bucket{phase="prepare",le="+Inf"} 110
arbiter_phase_seconds_sum{phase="prepare"} 0.17
arbiter_phase_seconds_count{phase="prepare"} 110
`

// Each stage is the change in a histogram's sum over the change in its
// count; derived lines are differences of those means.
func TestBreakdownIsTheMeanOverTheWindow(t *testing.T) {
	before, err := parseTimers(strings.NewReader(metricsBefore))
	if err != nil {
		t.Fatal(err)
	}
	after, err := parseTimers(strings.NewReader(metricsAfter))
	if err != nil {
		t.Fatal(err)
	}
	got := breakdown(map[string]scrape{"n1": before}, map[string]scrape{"n1": after}, "n1", nil, nil, 5)
	want := map[string]float64{
		"transaction, as the client saw it":      5,
		"leader: Commit call, arrival to answer": 4,   // 0.4 s / 100
		"client <-> leader (gRPC, client SDK)":   1,   // 5 - 4
		"prepare round (all votes in)":           1.5, // 0.15 s / 100
	}
	seen := map[string]bool{}
	for _, s := range got {
		if w, ok := want[s.Name]; ok {
			seen[s.Name] = true
			if d := s.Millis - w; d > 1e-9 || d < -1e-9 {
				t.Errorf("%s = %v ms, want %v", s.Name, s.Millis, w)
			}
		}
		if strings.HasPrefix(s.Name, "decide") {
			t.Errorf("decide reported (%v ms) though its timer saw nothing", s.Millis)
		}
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("no stage %q in %+v", name, got)
		}
	}
}
