package check

import (
	"fmt"
	"slices"
	"strings"

	"github.com/arbiter-tx/arbiter/jepsen/history"
)

// VotesBeforeCommit checks invariant 7 where it matters, at the
// participants: every participant a COMMIT names holds a committed outcome
// record for the tx (it prepared, voted yes and applied the commit). One
// that holds an abort tombstone, or nothing at all, was named without a
// durable yes vote (or lost the work it voted for), and the tx committed
// partially. Conversely, a participant that applied commit must be named by
// the COMMIT. A participant still holding the tx prepared is Liveness's.
//
// The COMMIT is each tx's first commit decision as the coordinators' logs
// re-derive it without the FSM's code (logModel: a DECIDE's yes voters, or
// a STAGE's set committed implicitly by a FINISH); a COMMIT compacted into
// a snapshot is read from the committed records the node's table still
// holds (Final.Committed). The nodes must agree on the set, and each node's
// table must name what its log does.
func VotesBeforeCommit(run *history.Run) Result {
	var ev evidence
	named, where := namedByCommit(&ev, run)
	for _, id := range sortedKeys(named) {
		for _, p := range named[id] {
			namedHolds(&ev, run, id, p, where[id])
		}
	}
	committedNamed(&ev, run, named, where)
	return ev.result(NameVotesBeforeCommit, len(named))
}

// namedByCommit returns, for every committed tx, the participants its COMMIT
// names and where that was read ("n1@52", or "n1's table").
func namedByCommit(ev *evidence, run *history.Run) (map[string][]string, map[string]string) {
	named, where := map[string][]string{}, map[string]string{}
	var scratch evidence // outcome disagreements are Uniqueness's
	fromLogs(run, func(node string, txs map[string]*logTx) {
		for _, id := range sortedKeys(txs) {
			t := txs[id]
			if t.outcome != history.OutcomeCommit {
				continue
			}
			at := fmt.Sprintf("%s@%d", node, t.index)
			tableAgrees(ev, run, node, id, t.named)
			prev, ok := named[id]
			switch {
			case !ok:
				named[id], where[id] = t.named, at
			case !slices.Equal(prev, t.named):
				ev.addf("tx %s: the COMMIT names %v at %s but %v at %s", id, prev, where[id], t.named, at)
			}
		}
	}, &scratch)
	fromTables(run, named, where)
	return named, where
}

// tableAgrees compares a node's log-derived COMMIT set with the committed
// record its replayed table holds, if it still holds it.
func tableAgrees(ev *evidence, run *history.Run, node, id string, fromLog []string) {
	parts, ok := run.Final.Committed[node][id]
	if ok && !slices.Equal(sortedUnion(parts, nil), fromLog) {
		ev.addf("tx %s: %s's table names %v as committed, its log's COMMIT names %v", id, node, parts, fromLog)
	}
}

// fromTables adds the committed records no visible log decides (compacted
// into a snapshot).
func fromTables(run *history.Run, named map[string][]string, where map[string]string) {
	for _, node := range sortedKeys(run.Final.Committed) {
		for _, id := range sortedKeys(run.Final.Committed[node]) {
			if _, ok := named[id]; !ok {
				named[id], where[id] = sortedUnion(run.Final.Committed[node][id], nil), node+"'s table"
			}
		}
	}
}

// namedHolds checks what participant p, named by tx id's COMMIT, holds.
func namedHolds(ev *evidence, run *history.Run, id, p, where string) {
	outs, reported := run.Final.ParticipantOutcomes[p]
	if !reported {
		return // not a collected participant: nothing to read
	}
	switch outs[id] {
	case history.OutcomeCommit:
	case history.OutcomeAbort:
		ev.addf("tx %s: the COMMIT (%s) names %s, which holds an abort tombstone%s", id, where, p, opsOf(run.Ops, id))
	default:
		if !isPrepared(run.Final, p, id) {
			ev.addf("tx %s: the COMMIT (%s) names %s, which holds nothing for it%s", id, where, p, opsOf(run.Ops, id))
		}
	}
}

// committedNamed reports participants that applied commit for a tx whose
// COMMIT does not name them.
func committedNamed(ev *evidence, run *history.Run, named map[string][]string, where map[string]string) {
	for _, p := range sortedKeys(run.Final.ParticipantOutcomes) {
		for _, id := range sortedKeys(run.Final.ParticipantOutcomes[p]) {
			parts, known := named[id]
			if run.Final.ParticipantOutcomes[p][id] == history.OutcomeCommit && known && !slices.Contains(parts, p) {
				ev.addf("tx %s: %s applied commit but the COMMIT (%s) names only %v%s", id, p, where[id], parts, opsOf(run.Ops, id))
			}
		}
	}
}

// maxOpsShown bounds the ops opsOf lists.
const maxOpsShown = 6

// opsOf is the history excerpt of one tx: its ops, kind, outcome and race
// case, as " (ops: ...)".
func opsOf(ops []history.Op, id string) string {
	var parts []string
	for _, op := range ops {
		if op.TxID != id {
			continue
		}
		if len(parts) == maxOpsShown {
			parts = append(parts, "...")
			break
		}
		answer := op.Outcome
		if op.Status != "" {
			answer = op.Status
		}
		s := fmt.Sprintf("%d %s %v->%s", op.Index, op.Kind, op.Participants, answer)
		if op.Case != "" {
			s += " [" + op.Case + "]"
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return ""
	}
	return " (ops: " + strings.Join(parts, "; ") + ")"
}
