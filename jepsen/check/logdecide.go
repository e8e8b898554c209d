package check

import (
	"fmt"

	"github.com/arbiter-tx/arbiter/jepsen/history"
)

// logTx is one tx as re-derived from one node's log: whether a record
// exists, whether it is STAGING, its first decision and the opposite
// DECIDE entries that came after it.
type logTx struct {
	known, staged bool
	outcome       string // "" while undecided
	index         uint64
	later         []uint64 // indexes of later DECIDEs with the other outcome
}

// logDecisions re-derives one node's write-once decisions from its decoded
// log events, without the FSM's code: a record exists once BEGIN, STAGE or
// a creating DECIDE is applied; the first DECIDE with a valid outcome
// decides it, except a presumed ABORT of a STAGING record (refused); a
// FINISH naming a STAGING tx as implicitly committed commits it. Txs whose
// first event needs a record the visible log never created are left out
// when the node has a snapshot (their record was compacted into it) and
// ignored otherwise, as the FSM ignores them.
func logDecisions(events []history.LogEvent, snapshot uint64) (txs map[string]*logTx, compacted int) {
	txs = map[string]*logTx{}
	skip := map[string]bool{}
	for _, e := range events {
		if skip[e.TxID] {
			continue
		}
		t := txs[e.TxID]
		if t == nil && e.Kind != history.LogBegin && e.Kind != history.LogStage && !e.Create && snapshot > 0 {
			skip[e.TxID] = true
			compacted++
			continue
		}
		if t == nil {
			t = &logTx{}
			txs[e.TxID] = t
		}
		t.apply(e)
	}
	return txs, compacted
}

func (t *logTx) apply(e history.LogEvent) {
	switch e.Kind {
	case history.LogBegin:
		t.known = true
	case history.LogStage:
		t.known, t.staged = true, t.staged || t.outcome == ""
	case history.LogImplicitCommit:
		if t.staged && t.outcome == "" {
			t.outcome, t.index = history.OutcomeCommit, e.Index
		}
	case history.LogDecide:
		t.decide(e)
	}
}

func (t *logTx) decide(e history.LogEvent) {
	switch {
	case e.Outcome == "" || (!t.known && !e.Create):
		return // invalid outcome, or no record: the FSM refuses it
	case t.outcome != "":
		if e.Outcome != t.outcome {
			t.later = append(t.later, e.Index)
		}
	case t.staged && e.Presumed && e.Outcome == history.OutcomeAbort:
		return // refused for STAGING
	default:
		t.known, t.outcome, t.index = true, e.Outcome, e.Index
	}
}

// firstDecision is one tx's first decision across the nodes' logs, with
// the later opposite DECIDEs any log holds.
type firstDecision struct {
	outcome, node string
	index         uint64
	later         []string // "n1@52", ...
}

// logUniqueness re-derives every node's decisions from its log events and
// checks them: the nodes agree, each node's FSM replay agrees with its own
// log, and no later opposite DECIDE took effect at a participant or in an
// answer to a client. It returns the merged first decisions.
func logUniqueness(ev *evidence, run *history.Run) map[string]*firstDecision {
	merged := map[string]*firstDecision{}
	compacted := 0
	for _, node := range sortedKeys(run.Final.LogEvents) {
		txs, n := logDecisions(run.Final.LogEvents[node], run.Final.SnapshotIndex[node])
		compacted += n
		replayAgrees(ev, node, txs, run.Final.Decisions[node])
		mergeDecisions(ev, merged, node, txs)
	}
	if compacted > 0 {
		ev.notef("%d tx event(s) referred to records compacted into a snapshot: their decisions are the FSM's", compacted)
	}
	secondTookEffect(ev, run, merged)
	return merged
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
			d = &firstDecision{outcome: t.outcome, node: node, index: t.index}
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
