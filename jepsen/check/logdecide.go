package check

import (
	"fmt"

	"github.com/arbiter-tx/arbiter/jepsen/history"
)

// firstDecision is one tx's first decision across the nodes' logs, with
// the later opposite DECIDEs any log holds.
type firstDecision struct {
	outcome, node string
	index         uint64
	named         []string // a COMMIT's participants, as node's log names them
	later         []string // "n1@52", ...
}

// logUniqueness re-derives every node's decisions from its log events and
// checks them: the nodes agree, each node's FSM replay agrees with its own
// log, no record forgotten after the uniqueness window was created again,
// and no later opposite DECIDE took effect at a participant or in an
// answer to a client. It returns the merged first decisions.
func logUniqueness(ev *evidence, run *history.Run) map[string]*firstDecision {
	merged, compacted := fromLogs(run, func(node string, txs map[string]*logTx) {
		replayAgrees(ev, node, txs, run.Final.Decisions[node])
		ranAgain(ev, node, txs)
	}, ev)
	if compacted > 0 {
		ev.notef("%d tx event(s) referred to records compacted into a snapshot: their decisions are the FSM's", compacted)
	}
	secondTookEffect(ev, run, merged)
	return merged
}

// fromLogs re-derives every node's table (see logModel), calls each with
// it, and merges the first decisions, reporting on ev nodes that disagree.
func fromLogs(run *history.Run, each func(node string, txs map[string]*logTx), ev *evidence) (map[string]*firstDecision, int) {
	merged := map[string]*firstDecision{}
	compacted := 0
	for _, node := range sortedKeys(run.Final.LogEvents) {
		txs, n := logDecisions(run.Final.LogEvents[node], run.Final.SnapshotIndex[node])
		compacted += n
		if each != nil {
			each(node, txs)
		}
		mergeDecisions(ev, merged, node, txs)
	}
	return merged, compacted
}

// ranAgain reports records created anew after the window's cut forgot
// them: an ID decided, finished and forgotten was run again, which the
// uniqueness window exists to refuse (an ID older than it is never run).
func ranAgain(ev *evidence, node string, txs map[string]*logTx) {
	for _, id := range sortedKeys(txs) {
		if t := txs[id]; len(t.again) > 0 {
			ev.addf("tx %s: first decided %s (%s@%d), forgotten after the uniqueness window, then recorded again at %s@%v: a forgotten ID ran again",
				id, orUndecided(t.outcome), node, t.index, node, t.again)
		}
	}
}

// replayAgrees compares the re-derived decisions with the FSM replay's.
func replayAgrees(ev *evidence, node string, txs map[string]*logTx, fsm map[string]string) {
	for _, id := range sortedKeys(txs) {
		if t := txs[id]; t.outcome != "" && fsm[id] != t.outcome {
			ev.addf("tx %s: %s's log first decides %s (index %d) but its FSM replay says %s",
				id, node, t.outcome, t.index, orUndecided(fsm[id]))
		}
	}
}

func orUndecided(s string) string {
	if s == "" {
		return "undecided"
	}
	return s
}

func mergeDecisions(ev *evidence, merged map[string]*firstDecision, node string, txs map[string]*logTx) {
	for _, id := range sortedKeys(txs) {
		t := txs[id]
		if t.outcome == "" {
			continue
		}
		d := merged[id]
		if d == nil {
			d = &firstDecision{outcome: t.outcome, node: node, index: t.index, named: t.named}
			merged[id] = d
		} else if d.outcome != t.outcome {
			ev.addf("tx %s: first decided %s in %s's log (index %d) but %s in %s's (index %d)",
				id, d.outcome, d.node, d.index, t.outcome, node, t.index)
		}
		for _, i := range t.later {
			d.later = append(d.later, fmt.Sprintf("%s@%d", node, i))
		}
	}
}

// secondTookEffect reports, for txs whose logs hold a later DECIDE with the
// other outcome, any participant that applied that outcome and any client
// answer that gave it. (Without such an entry a mismatch is Atomicity's or
// Durability's.)
func secondTookEffect(ev *evidence, run *history.Run, merged map[string]*firstDecision) {
	sets := members(run.Ops)
	ignored := 0
	for _, id := range sortedKeys(merged) {
		d := merged[id]
		if len(d.later) == 0 {
			continue
		}
		n := ev.anomalies
		for _, p := range sortedKeys(run.Final.ParticipantOutcomes) {
			got, ok := run.Final.ParticipantOutcomes[p][id]
			if ok && got != d.outcome && (got == history.OutcomeCommit || !outsider(p, sets[id])) {
				ev.addf("tx %s: first decided %s (%s@%d), a later DECIDE %s (%v) took effect: participant %s applied %s",
					id, d.outcome, d.node, d.index, got, d.later, p, got)
			}
		}
		answersAgree(ev, run.Ops, id, d)
		if ev.anomalies == n {
			ignored++
		}
	}
	if ignored > 0 {
		ev.notef("%d tx(s) have a later opposite DECIDE in the log that took no effect (write-once)", ignored)
	}
}

// answersAgree checks every answer a client got about tx id against its
// first decision.
func answersAgree(ev *evidence, ops []history.Op, id string, d *firstDecision) {
	for _, op := range ops {
		if op.TxID != id {
			continue
		}
		got := op.Outcome
		switch op.Kind {
		case history.KindStatus:
			got = map[string]string{statusCommitted: history.OutcomeCommit, statusAborted: history.OutcomeAbort}[op.Status]
		case history.KindResolve: // ABORT is also the answer to a non-member of a committed tx
			got = map[string]string{resolveCommit: history.OutcomeCommit}[op.Status]
		}
		if (got == history.OutcomeCommit || got == history.OutcomeAbort) && got != d.outcome {
			ev.addf("tx %s: first decided %s (%s@%d), a later DECIDE (%v) took effect: op %d (%s) was answered %s",
				id, d.outcome, d.node, d.index, d.later, op.Index, op.Kind, got)
		}
	}
}
