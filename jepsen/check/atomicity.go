package check

import (
	"slices"

	"github.com/arbiter-tx/arbiter/jepsen/history"
)

// Atomicity checks invariant 1 for every tx that any participant applied or
// any coordinator decided: a participant that applied commit needs a
// coordinator that decided commit; a participant that applied abort must not
// face a commit decision unless it is outside the tx's participant set (it
// never held a branch, so abort is what it should hold). A commit decision
// whose member participant holds neither an outcome nor a prepared branch is
// lost work, and is reported too; still-prepared branches are Liveness's.
func Atomicity(run *history.Run) Result {
	var ev evidence
	dec := verdicts(run.Final)
	got := applied(run.Final)
	sets := members(run.Ops)
	ids := unionKeys(dec, got)
	for _, id := range ids {
		atomicTx(&ev, run.Final, id, dec[id], got[id], sets[id])
	}
	return ev.result(NameAtomicity, len(ids))
}

func atomicTx(ev *evidence, f history.Final, id string, v *verdict, got map[string]string, set []string) {
	for _, p := range sortedKeys(got) {
		switch outcome := got[p]; {
		case outcome == history.OutcomeCommit && !v.committed():
			ev.addf("tx %s: participant %s applied commit, coordinators: %s", id, p, v)
		case outcome == history.OutcomeAbort && v.committed() && outsider(p, set):
			// Correct: p was never part of the tx.
		case outcome == history.OutcomeAbort && v.committed():
			ev.addf("tx %s: participant %s applied abort, coordinators: %s%s", id, p, v, unknownSet(set))
		case outcome != history.OutcomeCommit && outcome != history.OutcomeAbort:
			ev.addf("tx %s: participant %s holds unexpected outcome %q", id, p, outcome)
		}
	}
	if !v.committed() {
		return
	}
	for _, p := range set {
		_, reported := f.ParticipantOutcomes[p]
		_, done := got[p]
		if reported && !done && !isPrepared(f, p, id) {
			ev.addf("tx %s: coordinators decided commit (%s) but member %s holds nothing", id, v, p)
		}
	}
}

// outsider reports whether p is known not to be in the tx's participant set.
func outsider(p string, set []string) bool {
	return len(set) > 0 && !slices.Contains(set, p)
}

func unknownSet(set []string) string {
	if len(set) == 0 {
		return " (participant set unknown: no op recorded it)"
	}
	return ""
}

// Durability checks invariant 2 against what clients were told. An op
// acknowledged as committed needs a commit decision, no abort decision, and
// commit applied at every participant of the op. An op acknowledged as
// aborted needs no commit anywhere. Status and resolve ops report rather
// than acknowledge, so they are left to Linearizable.
func Durability(run *history.Run) Result {
	var ev evidence
	dec := verdicts(run.Final)
	sets := members(run.Ops)
	checked := 0
	for _, op := range run.Ops {
		if history.Asks(op.Kind) {
			continue
		}
		switch op.Outcome {
		case history.OutcomeCommit:
			checked++
			durableCommit(&ev, run.Final, op, dec[op.TxID], sets[op.TxID])
		case history.OutcomeAbort:
			checked++
			durableAbort(&ev, run.Final, op, dec[op.TxID])
		}
	}
	return ev.result(NameDurability, checked)
}

func durableCommit(ev *evidence, f history.Final, op history.Op, v *verdict, set []string) {
	if op.TxID == "" {
		ev.addf("op %d (%s): acknowledged commit without a tx ID, cannot be verified", op.Index, op.Kind)
		return
	}
	if !v.committed() || v.aborted() {
		ev.addf("tx %s (op %d, %s): acknowledged commit, coordinators: %s", op.TxID, op.Index, op.Kind, v)
	}
	if len(op.Participants) > 0 {
		set = op.Participants
	}
	for _, p := range set {
		if f.ParticipantOutcomes[p][op.TxID] != history.OutcomeCommit {
			ev.addf("tx %s (op %d, %s): acknowledged commit, participant %s holds %s",
				op.TxID, op.Index, op.Kind, p, describeApplied(f, p, op.TxID))
		}
	}
}

func durableAbort(ev *evidence, f history.Final, op history.Op, v *verdict) {
	if op.TxID == "" {
		return // never began: nothing could have been applied
	}
	if v.committed() {
		ev.addf("tx %s (op %d, %s): acknowledged abort, coordinators: %s", op.TxID, op.Index, op.Kind, v)
	}
	for _, p := range sortedKeys(f.ParticipantOutcomes) {
		if f.ParticipantOutcomes[p][op.TxID] == history.OutcomeCommit {
			ev.addf("tx %s (op %d, %s): acknowledged abort, participant %s applied commit",
				op.TxID, op.Index, op.Kind, p)
		}
	}
}
