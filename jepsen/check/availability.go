package check

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/arbiter-tx/arbiter/jepsen/history"
)

// NameAvailability is the availability checker's name.
const NameAvailability = "availability"

// Unavailability is the longest interval without a commit while a fault
// held: Gap, inside the window of fault Fault (from its start plus the
// grace to its heal).
type Unavailability struct {
	Gap      time.Duration
	Fault    history.Fault
	From, To time.Duration // the gap, as run offsets
}

// LongestUnavailable measures, over every fault the run injected (an
// injection that failed is skipped; a fault never healed holds to the end
// of the workload), the longest interval in which no transaction was
// acknowledged as committed, counted from grace after the fault began (the
// time a correct cluster may take to notice: an election timeout plus a
// participant probe period) until the fault was healed or the workload
// ended (its last op answered), whichever came first. Zero when no fault
// window outlasts its grace.
func LongestUnavailable(run *history.Run, grace time.Duration) Unavailability {
	commits := commitTimes(run)
	last := workloadEnd(run)
	var worst Unavailability
	for _, f := range run.Faults {
		if strings.HasPrefix(f.Detail, "inject:") {
			continue
		}
		end := f.End
		if end <= f.Start || end > last {
			end = last // a fault held past the workload: nobody was asking
		}
		from := f.Start + grace
		if from >= end {
			continue
		}
		if u := longestGap(commits, from, end); u.Gap > worst.Gap {
			u.Fault = f
			worst = u
		}
	}
	return worst
}

// LongestCommitGap is the longest interval between two consecutive
// commits anywhere in the run, from its first commit to the workload's last
// answer, with no grace and whatever the faults: what a client sees as the
// longest stall (issue 14 item 4 measures the leader and a bank killed
// together by it). Zero for a run with no commit.
func LongestCommitGap(run *history.Run) Unavailability {
	end := workloadEnd(run)
	var commits []time.Duration
	for _, t := range commitTimes(run) {
		if t <= end { // not the final transaction, run after the workload
			commits = append(commits, t)
		}
	}
	if len(commits) == 0 {
		return Unavailability{}
	}
	return longestGap(commits, commits[0], end)
}

// longestGap is the longest interval in [from, to] with no time of ts
// (sorted) inside it.
func longestGap(ts []time.Duration, from, to time.Duration) Unavailability {
	best := Unavailability{}
	last := from
	for _, t := range ts {
		if t <= from {
			continue
		}
		if t >= to {
			break
		}
		if t-last > best.Gap {
			best = Unavailability{Gap: t - last, From: last, To: t}
		}
		last = t
	}
	if to-last > best.Gap {
		best = Unavailability{Gap: to - last, From: last, To: to}
	}
	return best
}

// workloadEnd is when the workload's last op (the final transaction run
// after the heal aside) was answered.
func workloadEnd(run *history.Run) time.Duration {
	var end time.Duration
	for _, op := range run.Ops {
		if op.Kind != history.KindFinal {
			end = max(end, op.End)
		}
	}
	return end
}

// commitTimes are the times, sorted, at which the client learned a
// transaction committed (ops that run or decide a transaction).
func commitTimes(run *history.Run) []time.Duration {
	var ts []time.Duration
	for _, op := range run.Ops {
		if op.Outcome == history.OutcomeCommit && !history.Asks(op.Kind) && op.Kind != history.KindEnlist {
			ts = append(ts, op.End)
		}
	}
	slices.Sort(ts)
	return ts
}

// Availability reports LongestUnavailable as a note and, when enforce is
// set (runs whose every fault leaves a quorum of coordinators that reaches
// every participant, such as a partial partition), fails when it exceeds
// bound. Result.Measure carries the interval.
func Availability(run *history.Run, grace, bound time.Duration, enforce bool) Result {
	u := LongestUnavailable(run, grace)
	r := Result{Name: NameAvailability, Pass: true, Measure: u.Gap}
	for _, f := range run.Faults {
		if !strings.HasPrefix(f.Detail, "inject:") {
			r.Checked++
		}
	}
	if u.Gap == 0 {
		return r
	}
	line := fmt.Sprintf("longest interval without a commit while a fault held: %.3fs (%.3fs-%.3fs, during %s %s injected at %.3fs; grace %v)",
		u.Gap.Seconds(), u.From.Seconds(), u.To.Seconds(), u.Fault.Kind, strings.Join(u.Fault.Targets, ","), u.Fault.Start.Seconds(), grace)
	if enforce && u.Gap > bound {
		r.Pass, r.Anomalies = false, 1
		line += fmt.Sprintf(": over the bound of %v", bound)
	}
	r.Evidence = append(r.Evidence, line)
	return r
}
