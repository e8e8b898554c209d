package check

import (
	"strings"
	"testing"

	"github.com/arbiter-tx/arbiter/jepsen/history"
)

func eventsRun(stream []string, pending ...string) *history.Run {
	return &history.Run{Final: history.Final{
		Committed: map[string]map[string][]string{
			"n1": {"t1": {"bank1", "events"}, "t2": {"bank1", "events"}, "t9": {"bank1", "bank2"}},
			"n2": {"t1": {"bank1", "events"}, "t3": {"events"}},
		},
		Decisions: map[string]map[string]string{"n1": {"t4": "abort"}},
		Events:    &history.EventsFinal{Outbox: "events", Stream: stream, Pending: pending},
	}}
}

// The events checker passes exactly one event per committed transaction
// naming the outbox and flags a missing, a duplicated, a pending one and
// one of an aborted or undecided transaction.
func TestEvents(t *testing.T) {
	ok := []string{"t1/events/0000", "t3/events/0000", "t2/events/0000"}
	if r := Events(eventsRun(ok)); !r.Pass || r.Checked != 3 {
		t.Fatalf("clean run: %+v", r)
	}
	for _, tc := range []struct {
		name    string
		run     *history.Run
		anomaly string
	}{
		{"missing", eventsRun(ok[:2]), "tx t2 committed; its event t2/events/0000 was never published"},
		{"pending", eventsRun(ok[:2], "m/t2/0000"), "tx t2 committed; its event is still pending"},
		{"duplicated", eventsRun(append(ok, "t1/events/0000")), "in the stream 2 times"},
		{"aborted", eventsRun(append(ok, "t4/events/0000")), "tx t4 was aborted"},
		{"undecided", eventsRun(append(ok, "t5/events/0000")), "tx t5 was never decided"},
		{"not naming", eventsRun(append(ok, "t9/events/0000")), "committed without naming the outbox"},
	} {
		r := Events(tc.run)
		if r.Pass || r.Anomalies != 1 || !strings.Contains(strings.Join(r.Evidence, "\n"), tc.anomaly) {
			t.Errorf("%s: %+v, want one anomaly saying %q", tc.name, r, tc.anomaly)
		}
	}
}
