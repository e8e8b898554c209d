package check

import (
	"strings"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/jepsen/history"
)

func commitAt(s float64) history.Op {
	return history.Op{Kind: history.KindTransfer, Outcome: history.OutcomeCommit, End: time.Duration(s * float64(time.Second))}
}

func secs(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// The measure counts only time while a fault held, from the grace after
// its start to its heal or the workload's end; commits outside the window
// and status queries do not count, and a failed injection is no window.
func TestLongestUnavailable(t *testing.T) {
	run := &history.Run{Duration: secs(30), Nemeses: []string{"x"},
		Ops: []history.Op{commitAt(1), commitAt(10.5), commitAt(14), commitAt(14.2), commitAt(29),
			{Kind: history.KindFinal, Outcome: history.OutcomeCommit, End: secs(40)},
			{Kind: history.KindStatus, Outcome: history.OutcomeCommit, End: secs(12)},
			{Kind: history.KindTransfer, Outcome: history.OutcomeAbort, End: secs(12)}},
		Faults: []history.Fault{
			{Kind: "a", Start: secs(10), End: secs(15)},                              // window 11-15: gap 11-14 (3 s)
			{Kind: "b", Start: secs(20), End: secs(30), Detail: "inject: no leader"}, // skipped
			{Kind: "c", Start: secs(25), End: secs(25.5)},                            // shorter than the grace
		}}
	u := LongestUnavailable(run, time.Second)
	if u.Gap != secs(3) || u.Fault.Kind != "a" || u.From != secs(11) || u.To != secs(14) {
		t.Fatalf("got %+v, want 3s from 11s to 14s during a", u)
	}
	if r := Availability(run, time.Second, secs(2.5), false); !r.Pass || r.Measure != secs(3) || r.Checked != 2 {
		t.Fatalf("not enforced: %+v, want a pass measuring 3s over 2 faults", r)
	}
	r := Availability(run, time.Second, secs(2.5), true)
	if r.Pass || r.Anomalies != 1 || !strings.Contains(r.Evidence[0], "over the bound") {
		t.Fatalf("enforced with a 2.5s bound: %+v, want a failure", r)
	}
	if u := LongestUnavailable(&history.Run{Duration: secs(10)}, time.Second); u.Gap != 0 {
		t.Fatalf("no faults: %v, want 0", u.Gap)
	}
	// A fault never healed, or healed after the workload, holds to the
	// workload's last answer (29s; the final transaction does not count).
	for _, f := range []history.Fault{{Kind: "d", Start: secs(16)}, {Kind: "e", Start: secs(16), End: secs(35)}} {
		run.Faults = []history.Fault{f}
		if u := LongestUnavailable(run, time.Second); u.Gap != secs(12) {
			t.Fatalf("fault %s: %v, want 12s (17s to the last commit at 29s)", f.Kind, u.Gap)
		}
	}
}

// The longest commit gap spans the whole run, faults or not, from the first
// commit to the workload's last answer; the final transaction and status
// queries do not count.
func TestLongestCommitGap(t *testing.T) {
	run := &history.Run{Ops: []history.Op{commitAt(1), commitAt(2), commitAt(4.5), commitAt(5),
		{Kind: history.KindFinal, Outcome: history.OutcomeCommit, End: secs(40)},
		{Kind: history.KindStatus, Outcome: history.OutcomeCommit, End: secs(3)},
		{Kind: history.KindTransfer, Outcome: history.OutcomeAbort, End: secs(5.5)}}}
	if g := LongestCommitGap(run); g.Gap != secs(2.5) || g.From != secs(2) || g.To != secs(4.5) {
		t.Fatalf("got %+v, want 2.5s from 2s to 4.5s", g)
	}
	run.Ops = append(run.Ops, history.Op{Kind: history.KindTransfer, Outcome: history.OutcomeAbort, End: secs(9)})
	if g := LongestCommitGap(run); g.Gap != secs(4) || g.To != secs(9) {
		t.Fatalf("an abort answered at 9s: got %+v, want 4s to 9s", g)
	}
	if g := LongestCommitGap(&history.Run{}); g.Gap != 0 {
		t.Fatalf("no commits: %v, want 0", g.Gap)
	}
}
