package runner

import (
	"fmt"
	"sort"
	"strings"

	"github.com/arbiter-tx/arbiter/jepsen/check"
	"github.com/arbiter-tx/arbiter/jepsen/history"
)

// NameRaceCoverage is the name of CheckRaceCases' result.
const NameRaceCoverage = "race-coverage"

// CheckRaceCases fails a race-workload run in which some case of the
// workload never ran (the seeded draw missed it, or no one-shot grew older
// than the window within the run): such a run checked nothing about it.
// Its evidence counts each case's ops by kind and outcome, and the crash
// points processes died at.
func CheckRaceCases(run *history.Run) check.Result {
	r := check.Result{Name: NameRaceCoverage, Pass: true}
	byCase := map[string]map[string]int{}
	for _, op := range run.Ops {
		if op.Case == "" {
			continue
		}
		if byCase[op.Case] == nil {
			byCase[op.Case] = map[string]int{}
		}
		answer := op.Outcome
		if op.Status != "" && op.Outcome == "" || history.Asks(op.Kind) && op.Status != "" {
			answer = op.Status
		}
		byCase[op.Case][op.Kind+" "+answer]++
	}
	for _, c := range RaceCases() {
		r.Checked++
		if len(byCase[c]) == 0 {
			r.Pass = false
			r.Anomalies++
			r.Evidence = append(r.Evidence, c+": never ran")
			continue
		}
		r.Evidence = append(r.Evidence, c+": "+counts(byCase[c]))
	}
	if n := spuriousRefusals(run.Ops); len(n) > 0 {
		r.Evidence = append(r.Evidence, "calls that named one branch set refused as naming another (branches differ; a coordinator answer to fix, not an invariant): "+counts(n))
	}
	if crashes := crashPoints(run.Faults); len(crashes) > 0 {
		r.Evidence = append(r.Evidence, "crash points reached: "+counts(crashes))
	}
	return r
}

// spuriousRefusals counts, by case, the Commit and Run calls refused with
// "branches differ" although the call was the only one with its branch set
// (the SDK retries it with the same branches): the coordinator compares a
// retry, or a Run racing an Abort, against the record's participants (a
// late enlistee) or the Abort's empty set instead of the branches.
func spuriousRefusals(ops []history.Op) map[string]int {
	out := map[string]int{}
	for _, op := range ops {
		single := op.Case == caseAbortVsOneShot || op.Case == caseLateEnlist || op.Case == caseAbortVsCommit
		if single && op.Kind == history.KindCommit && op.Outcome == history.OutcomeFail && strings.Contains(op.Err, "branches differ") {
			out[op.Case]++
		}
	}
	return out
}

// crashPoints counts the processes that died at each crash point.
func crashPoints(faults []history.Fault) map[string]int {
	out := map[string]int{}
	for _, f := range faults {
		if f.Kind != CrashPoints {
			continue
		}
		name, ok := strings.CutPrefix(f.Detail, "process died at a crash point ")
		if name, _, _ = strings.Cut(name, ";"); !ok || name == "" {
			name = "unnamed"
		}
		out[name] += len(f.Targets)
	}
	return out
}

// counts renders "a 3, b 1" in key order.
func counts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
