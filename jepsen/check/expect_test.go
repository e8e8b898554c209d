package check

import (
	"testing"

	"github.com/arbiter-tx/arbiter/jepsen/history"
)

const refusedErr = "rpc error: code = FailedPrecondition desc = transaction t1 is COMMITTED over participants [bank-a bank-b] and this Commit names \"bank-c\""

// probe adds op 5 to bankRun: a retry of t1 (committed) or t2 (aborted)
// expecting want, answered outcome with err.
func probe(tx, want, outcome, err string) func(*history.Run) {
	return func(r *history.Run) {
		r.Ops = append(r.Ops, history.Op{Index: 5, Kind: history.KindCommit, TxID: tx, Case: "changed-retry",
			Expect: want, Outcome: outcome, Err: err})
	}
}

func TestExpectedAnswers(t *testing.T) {
	runCases(t, ExpectedAnswers, []checkCase{
		{name: "no probes"},
		{name: "retry with another branch refused", mutate: probe("t1", history.ExpectRefused, history.OutcomeFail, refusedErr)},
		{name: "retry with another branch unanswered", mutate: probe("t1", history.ExpectRefused, history.OutcomeUnknown, "deadline")},
		{name: "retry with another branch merged into the commit",
			mutate: probe("t1", history.ExpectRefused, commit, ""),
			want:   "op 5 (commit, changed-retry, tx t1): want refused, answered commit"},
		{name: "refused, but not as a precondition",
			mutate: probe("t1", history.ExpectRefused, history.OutcomeFail, "rpc error: code = InvalidArgument desc = no"),
			want:   "want refused, answered fail: rpc error: code = InvalidArgument"},
		{name: "a bad key aborted", mutate: probe("t2", history.ExpectNotCommitted, abort, "")},
		{name: "a bad key committed",
			mutate: probe("t2", history.ExpectNotCommitted, commit, ""),
			want:   "op 5 (commit, changed-retry, tx t2): want not-committed, answered commit"},
		{name: "past the window: refused",
			mutate: probe("t1", history.ExpectRefusedOrRecorded, history.OutcomeFail, "rpc error: code = FailedPrecondition desc = too old")},
		{name: "past the window: answered from the remembered record",
			mutate: probe("t1", history.ExpectRefusedOrRecorded, commit, "")},
		{name: "past the window: answered other than the decision",
			mutate: probe("t2", history.ExpectRefusedOrRecorded, commit, ""),
			want:   "op 5 (commit, changed-retry, tx t2): want a refusal or the recorded decision, answered commit (coordinators: abort on n1,n2)"},
	})
}
