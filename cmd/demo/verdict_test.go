package main

import (
	"strings"
	"testing"
)

// passing is a summary of a run where everything went as planned.
func passing() *summary {
	s := newSummary(30000, 6)
	s.TotalAfter = 30000
	s.Committed, s.Ways[coordinatorDriven].Committed, s.Ways[serviceDriven].Committed = 20, 12, 8
	s.FaultsInjected, s.LeaderChanges, s.ProcessesUp = 2, 1, 6
	return s
}

// Each way a run can go wrong fails it, with a reason that names it; a run
// where nothing went wrong passes.
func TestSummaryFailures(t *testing.T) {
	if f := passing().failures(); len(f) != 0 {
		t.Fatalf("a clean run fails: %q", f)
	}
	for _, tc := range []struct {
		name   string
		spoil  func(*summary)
		reason string // in the first reason given
		n      int    // reasons given
	}{
		{"money lost", func(s *summary) { s.TotalAfter-- }, "money not conserved", 1},
		{"stuck", func(s *summary) { s.InDoubtAtEnd = 3 }, "3 transactions still in doubt", 1},
		{"in-doubt count unread", func(s *summary) { s.InDoubtReadError = "no coordinator reports itself leader" },
			"could not read what is in doubt at the end: no coordinator reports itself leader", 1},
		{"service-driven never commits", func(s *summary) { s.Ways[serviceDriven] = &wayCounts{Aborted: 9} },
			"no service_driven transfer committed (9 aborted", 1},
		{"coordinator-driven never commits", func(s *summary) { s.Ways[coordinatorDriven].Committed = 0 },
			"no coordinator_driven transfer committed", 1},
		{"a kill failed", func(s *summary) {
			s.FaultsInjected = 1
			s.FaultErrors = []string{"SIGKILL coordinator leader n1: n1 did not exit in time"}
		}, "fault: SIGKILL coordinator leader n1", 2},
		{"run too short for the leader crash", func(s *summary) { s.FaultsInjected = 1 }, "only 1 of 2 planned crashes", 1},
		{"no leader change", func(s *summary) { s.LeaderChanges = 0 }, "no coordinator leader change observed", 1},
		{"a process down", func(s *summary) { s.ProcessesUp, s.Down = 5, []string{"n1: not running"} },
			"only 5 of 6 processes up at the end (down: [n1: not running])", 1},
	} {
		s := passing()
		tc.spoil(s)
		f := s.failures()
		if s.ok() || len(f) != tc.n || !strings.Contains(f[0], tc.reason) {
			t.Errorf("%s: failures = %q, want %d, the first containing %q", tc.name, f, tc.n, tc.reason)
		}
	}
}
