package main

import (
	"fmt"
	"sort"
)

// ok reports whether the run passes: no reason in failures.
func (s *summary) ok() bool {
	return len(s.failures()) == 0
}

// failures lists every reason the run fails, each in words: money not
// conserved, transactions left in doubt (or no way to tell), nothing
// committed one way or the other, faults that did not happen, no leader
// change, processes down at the end.
func (s *summary) failures() []string {
	out := []string{} // "failures": [] in the JSON of a PASS
	fail := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if s.TotalAfter != s.TotalBefore {
		fail("money not conserved: total %d before, %d after", s.TotalBefore, s.TotalAfter)
	}
	switch {
	case s.InDoubtReadError != "":
		fail("could not read what is in doubt at the end: %s", s.InDoubtReadError)
	case s.InDoubtAtEnd != 0:
		fail("%d transactions still in doubt at the end", s.InDoubtAtEnd)
	}
	out = append(out, s.wayFailures()...)
	out = append(out, s.eventFailures()...)
	out = append(out, s.faultFailures()...)
	if s.ProcessesUp < s.Processes {
		fail("only %d of %d processes up at the end (down: %v)", s.ProcessesUp, s.Processes, s.Down)
	}
	return out
}

// wayFailures: each way of joining must have committed something.
func (s *summary) wayFailures() []string {
	var out []string
	if s.Committed == 0 {
		out = append(out, "no transaction committed")
	}
	ways := make([]string, 0, len(s.Ways))
	for w := range s.Ways {
		ways = append(ways, w)
	}
	sort.Strings(ways)
	for _, w := range ways {
		if c := s.Ways[w]; c.Committed == 0 {
			out = append(out, fmt.Sprintf("no %s transfer committed (%d aborted, %d unknown, %d refused, %d failed to begin)",
				w, c.Aborted, c.Unknown, c.Rejected, c.BeginFailed))
		}
	}
	return out
}

// faultFailures: the crashes must have happened, and the leader's crash
// must have moved the leadership.
func (s *summary) faultFailures() []string {
	var out []string
	for _, e := range s.FaultErrors {
		out = append(out, "fault: "+e)
	}
	if s.FaultsInjected < s.FaultsPlanned {
		out = append(out, fmt.Sprintf("only %d of %d planned crashes were carried out", s.FaultsInjected, s.FaultsPlanned))
	}
	if s.LeaderChanges < 1 {
		out = append(out, "no coordinator leader change observed, though the leader was to be killed")
	}
	return out
}

// eventFailures: with events, the consumer must have received every
// committed transfer's event exactly once and nothing else.
func (s *summary) eventFailures() []string {
	if !s.EventsMode {
		return nil
	}
	var out []string
	if s.EventsPublished != s.EventsExpected {
		out = append(out, fmt.Sprintf("the consumer received %d of the %d committed transfers' events", s.EventsPublished, s.EventsExpected))
	}
	if s.EventsDuplicated > 0 || s.EventsUnexpected > 0 || s.EventsInStream != s.EventsExpected {
		out = append(out, fmt.Sprintf("events: %d duplicated deliveries, %d of no committed transfer, %d in the stream for %d committed",
			s.EventsDuplicated, s.EventsUnexpected, s.EventsInStream, s.EventsExpected))
	}
	return out
}
