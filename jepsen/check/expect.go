package check

import (
	"strings"

	"github.com/arbiter-tx/arbiter/jepsen/history"
)

// refusedCode is how a FAILED_PRECONDITION answer reads in Op.Err.
const refusedCode = "code = FailedPrecondition"

// ExpectedAnswers checks the ops that probe a refusal (Op.Expect, set by
// the race workload) against what they were answered:
//   - ExpectRefused: FAILED_PRECONDITION (a retry naming a participant the
//     decided COMMIT does not name must never be merged into it);
//   - ExpectNotCommitted: anything but COMMIT (a branch that can never
//     apply, or a retry of an aborted tx with other branches);
//   - ExpectRefusedOrRecorded: FAILED_PRECONDITION, or the answer of a
//     record the coordinators still remember, which must be the tx's
//     decision (a one-shot retried past the uniqueness window; that it
//     never ran again is Uniqueness's: no forgotten record is created anew).
//
// An op that got no answer (unknown outcome) is counted, not failed.
func ExpectedAnswers(run *history.Run) Result {
	var ev evidence
	dec := verdicts(run.Final)
	checked, unanswered, recorded := 0, 0, 0
	for _, op := range run.Ops {
		if op.Expect == "" {
			continue
		}
		checked++
		refused := op.Outcome == history.OutcomeFail && strings.Contains(op.Err, refusedCode)
		switch {
		case op.Outcome == history.OutcomeUnknown:
			unanswered++
		case op.Expect == history.ExpectRefused && !refused,
			op.Expect == history.ExpectNotCommitted && op.Outcome == history.OutcomeCommit:
			ev.addf("op %d (%s, %s, tx %s): want %s, answered %s%s", op.Index, op.Kind, op.Case, op.TxID, op.Expect, op.Outcome, errText(op.Err))
		case op.Expect == history.ExpectRefusedOrRecorded && !refused:
			recorded++
			if v := dec[op.TxID]; !(op.Outcome == history.OutcomeCommit && v.committed() && !v.aborted()) &&
				!(op.Outcome == history.OutcomeAbort && v.aborted() && !v.committed()) {
				ev.addf("op %d (%s, %s, tx %s): want a refusal or the recorded decision, answered %s (coordinators: %s)%s",
					op.Index, op.Kind, op.Case, op.TxID, op.Outcome, v, errText(op.Err))
			}
		}
	}
	if unanswered > 0 {
		ev.notef("%d op(s) got no answer: nothing to compare", unanswered)
	}
	if recorded > 0 {
		ev.notef("%d one-shot(s) retried past the uniqueness window were answered from a record still remembered", recorded)
	}
	return ev.result(NameExpectedAnswers, checked)
}

// maxErrShown clips an error quoted in evidence.
const maxErrShown = 200

func errText(err string) string {
	if err == "" {
		return ""
	}
	if len(err) > maxErrShown {
		err = err[:maxErrShown] + "..."
	}
	return ": " + err
}
