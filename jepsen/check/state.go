package check

import (
	"fmt"
	"strings"

	"github.com/arbiter-tx/arbiter/jepsen/history"
)

// Uniqueness checks invariant 3: the coordinators' Raft logs never diverge
// (Final.LogConflicts is empty), no tx ID is decided commit on one node and
// abort on another by the FSM replay, and the same holds for the decisions
// re-derived from the decoded log entries without the FSM's code (see
// logUniqueness): each node's replay matches its own log, and a later
// DECIDE with the other outcome, which the write-once rule must ignore,
// never reached a participant or a client.
func Uniqueness(run *history.Run) Result {
	var ev evidence
	for _, c := range run.Final.LogConflicts {
		ev.addf("raft log conflict: %s", c)
	}
	dec := verdicts(run.Final)
	for _, id := range sortedKeys(dec) {
		if v := dec[id]; v.committed() && v.aborted() {
			ev.addf("tx %s: decided both ways: %s", id, v)
		}
	}
	fromLog := logUniqueness(&ev, run)
	return ev.result(NameUniqueness, len(unionKeys(dec, fromLog)))
}

// Conservation checks the bank's money: every committed read sees the total
// the bank started with and no negative balance, and so do the final
// balances. Runs without read or transfer ops pass with Checked 0.
func Conservation(run *history.Run) Result {
	var ev evidence
	if !hasKind(run, history.KindRead, history.KindTransfer) {
		ev.notef("skipped: no read or transfer ops")
		return ev.result(NameConservation, 0)
	}
	checked := 1
	for _, op := range run.Ops {
		if op.Kind == history.KindRead && op.Outcome == history.OutcomeCommit {
			checked++
			balances(&ev, fmt.Sprintf("read op %d (tx %s)", op.Index, op.TxID), op.Read, run.Final.Expected)
		}
	}
	balances(&ev, "final balances", run.Final.Balances, run.Final.Expected)
	return ev.result(NameConservation, checked)
}

func balances(ev *evidence, what string, accounts map[string]int64, expected int64) {
	var sum int64
	for _, acct := range sortedKeys(accounts) {
		sum += accounts[acct]
		if accounts[acct] < 0 {
			ev.addf("%s: account %s is negative: %d", what, acct, accounts[acct])
		}
	}
	if sum != expected {
		ev.addf("%s: total %d, expected %d (%d accounts)", what, sum, expected, len(accounts))
	}
}

// maxIDsPerLine bounds how many tx IDs one evidence line lists.
const maxIDsPerLine = 10

// Liveness checks invariant 4: no participant still holds a prepared branch
// Final.LivenessWait after every fault was healed.
func Liveness(run *history.Run) Result {
	var ev evidence
	f := run.Final
	for _, p := range sortedKeys(f.Prepared) {
		if ids := f.Prepared[p]; len(ids) > 0 {
			ev.addf("participant %s: %d tx still prepared %s after the heal: %s",
				p, len(ids), f.LivenessWait, idList(ids))
		}
	}
	return ev.result(NameLiveness, len(unionKeys(f.Prepared, f.ParticipantOutcomes)))
}

func idList(ids []string) string {
	if len(ids) <= maxIDsPerLine {
		return strings.Join(ids, ", ")
	}
	return fmt.Sprintf("%s, ... (%d more)", strings.Join(ids[:maxIDsPerLine], ", "), len(ids)-maxIDsPerLine)
}

// FinalTx checks that a transaction run after the heal committed: the
// system is usable again, not merely consistent.
func FinalTx(run *history.Run) Result {
	var ev evidence
	if !run.Final.FinalTxOK {
		ev.addf("final transaction%s did not commit: %s", finalTxID(run), orNone(run.Final.FinalTxErr))
	}
	return ev.result(NameFinalTx, 1)
}

func finalTxID(run *history.Run) string {
	for _, op := range run.Ops {
		if op.Kind == history.KindFinal && op.TxID != "" {
			return " " + op.TxID
		}
	}
	return ""
}

func orNone(s string) string {
	if s == "" {
		return "no error recorded"
	}
	return s
}
