package check

import (
	"fmt"

	"github.com/anishathalye/porcupine"

	"github.com/arbiter-tx/arbiter/jepsen/history"
)

// Status answers, as the status workload records them in Op.Status.
const (
	statusActive    = "ACTIVE"
	statusCommitted = "COMMITTED"
	statusAborted   = "ABORTED"
	statusNotFound  = "NOT_FOUND"
)

// Resolve answers, as the status workload records them in Op.Status.
const (
	resolveCommit  = "COMMIT"
	resolveAbort   = "ABORT"
	resolvePending = "PENDING"
)

// decision is the state of one tx's write-once decision register.
type decision uint8

const (
	undecided decision = iota
	committed
	aborted
)

func (d decision) String() string {
	return [...]string{"UNDECIDED", "COMMIT", "ABORT"}[d]
}

// linInput is one op on the register: commit, abort, status or resolve of
// a tx.
type linInput struct {
	Kind string
	TxID string
}

// decisionModel is the sequential specification of one tx's decision: it
// starts UNDECIDED and is decided at most once. The model is
// nondeterministic because an op with an unknown outcome may have decided
// either way, or not at all.
func decisionModel() porcupine.Model {
	nm := porcupine.NondeterministicModel{
		Partition: partitionByTx,
		Init:      func() []any { return []any{undecided} },
		Step: func(state, input, output any) []any {
			return step(state.(decision), input.(linInput).Kind, output.(string))
		},
		DescribeOperation: func(input, output any) string {
			in := input.(linInput)
			return fmt.Sprintf("%s(%s) -> %s", in.Kind, in.TxID, output)
		},
		DescribeState: func(state any) string { return state.(decision).String() },
	}
	return nm.ToModel()
}

func step(s decision, kind, out string) []any {
	switch kind {
	case history.KindCommit:
		return stepCommit(s, out)
	case history.KindAbort:
		return stepAbort(s, out)
	case history.KindResolve:
		return stepResolve(s, out)
	case history.KindResolveMember:
		return stepResolveMember(s, out)
	default:
		return stepStatus(s, out)
	}
}

// stepCommit: Commit decides commit, or abort when a participant votes no,
// and returns the decision already made on a retry.
func stepCommit(s decision, out string) []any {
	switch {
	case out == history.OutcomeCommit && s != aborted:
		return []any{committed}
	case out == history.OutcomeAbort && s != committed:
		return []any{aborted}
	case out == history.OutcomeUnknown && s == undecided:
		return []any{undecided, committed, aborted}
	case out == history.OutcomeUnknown:
		return []any{s}
	}
	return nil
}

// stepAbort: Abort decides abort, and returns commit only when commit was
// already decided.
func stepAbort(s decision, out string) []any {
	switch {
	case out == history.OutcomeAbort && s != committed:
		return []any{aborted}
	case out == history.OutcomeCommit && s == committed:
		return []any{committed}
	case out == history.OutcomeUnknown && s == undecided:
		return []any{undecided, aborted}
	case out == history.OutcomeUnknown:
		return []any{s}
	}
	return nil
}

// stepStatus: Status reports the register. ABORTED is also legal while
// UNDECIDED: the coordinator aborts an undecided tx on its own when its
// deadline passes (DESIGN.md, presumed abort), an internal step no op
// records, so the first op to observe it takes that step. NOT_FOUND needs a
// decision: every tx was begun (Begin acknowledged) before its first op, so
// the only way to lose its record is to finish and be forgotten, which a
// decided tx may do (an internal step that changes no answer the model
// checks) and an undecided one may not.
func stepStatus(s decision, out string) []any {
	switch {
	case out == statusActive && s == undecided,
		out == statusCommitted && s == committed,
		out == statusNotFound && s != undecided:
		return []any{s}
	case out == statusAborted && s != committed:
		return []any{aborted}
	}
	return nil
}

// stepResolve: Resolve as a participant the tx does not name. A decision
// that exists is the answer, except that COMMIT is answered ABORT to a
// non-member ("not part of what committed"), so COMMIT is never legal.
// Without a decision the answer is PENDING while the tx may still commit
// (within its deadline, or while a commit runs: neither is visible here, so
// PENDING is legal in any undecided state), or else the leader decides
// ABORT (write-once) and answers it. A Resolve without an answer may have
// decided ABORT, or nothing.
func stepResolve(s decision, out string) []any {
	switch {
	case out == resolvePending && s == undecided:
		return []any{undecided}
	case out == resolveAbort && s == undecided:
		return []any{aborted}
	case out == resolveAbort:
		return []any{s}
	case out == history.OutcomeUnknown && s == undecided:
		return []any{undecided, aborted}
	case out == history.OutcomeUnknown:
		return []any{s}
	}
	return nil
}

// stepResolveMember: Resolve as a participant the tx names. As stepResolve,
// except that COMMIT is this participant's answer once the tx committed.
// COMMIT is legal while UNDECIDED too: a Resolve of a STAGING tx (parallel
// commit) past its deadline starts the recovery that asks every
// participant, which commits a tx all of them prepared.
func stepResolveMember(s decision, out string) []any {
	switch {
	case out == resolveCommit && s != aborted:
		return []any{committed}
	case out == resolveAbort && s != committed:
		return []any{aborted}
	case out == resolvePending && s == undecided:
		return []any{undecided}
	case out == history.OutcomeUnknown && s == undecided:
		return []any{undecided, committed, aborted}
	case out == history.OutcomeUnknown:
		return []any{s}
	}
	return nil
}
