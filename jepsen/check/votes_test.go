package check

import (
	"testing"

	"github.com/arbiter-tx/arbiter/jepsen/history"
)

// TestVotesBeforeCommit: good histories pass; a COMMIT naming a
// participant that holds an abort tombstone or nothing fails, and so does a
// participant that applied a commit its COMMIT does not name.
func TestVotesBeforeCommit(t *testing.T) {
	runCases(t, VotesBeforeCommit, []checkCase{
		{name: "clean", mutate: withLog(nil)},
		{name: "no logs: nothing to check"},
		{name: "named participant holds an abort tombstone",
			mutate: withLog(func(r *history.Run) { r.Final.ParticipantOutcomes["bank-b"]["t1"] = abort }),
			want:   "tx t1: the COMMIT (n1@5) names bank-b, which holds an abort tombstone (ops: 0 transfer [bank-a bank-b]->commit)"},
		{name: "named participant holds nothing",
			mutate: withLog(func(r *history.Run) { delete(r.Final.ParticipantOutcomes["bank-b"], "t3") }),
			want:   "tx t3: the COMMIT (n1@7) names bank-b, which holds nothing for it"},
		{name: "named participant still prepared is left to liveness",
			mutate: withLog(func(r *history.Run) {
				delete(r.Final.ParticipantOutcomes["bank-b"], "t3")
				r.Final.Prepared["bank-b"] = []string{"t3"}
			})},
		{name: "a late enlistee without a vote: the COMMIT is refused, the tx aborts",
			mutate: withLog(func(r *history.Run) {
				for _, n := range []string{"n1", "n2"} {
					appendEv(r, n, begin(40, "t6"), enlistEv(41, "t6", "bank-c"), commitEv(42, "t6", "bank-a", "bank-b"),
						decideEv(43, "t6", abort, false))
				}
				r.Final.ParticipantOutcomes["bank-c"] = map[string]string{}
			})},
		{name: "enlist-into-commit: the COMMIT names a late enlistee that never voted",
			mutate: withLog(func(r *history.Run) {
				for _, n := range []string{"n1", "n2"} {
					appendEv(r, n, begin(40, "t6"), enlistEv(41, "t6", "bank-c"), commitEv(42, "t6", "bank-a", "bank-b", "bank-c"))
				}
				r.Final.ParticipantOutcomes["bank-a"]["t6"] = commit
				r.Final.ParticipantOutcomes["bank-b"]["t6"] = commit
				r.Final.ParticipantOutcomes["bank-c"] = map[string]string{}
			}),
			want: "tx t6: the COMMIT (n1@42) names bank-c, which holds nothing for it"},
		{name: "a participant applied a commit that does not name it",
			mutate: withLog(func(r *history.Run) {
				r.Final.ParticipantOutcomes["bank-c"] = map[string]string{"t1": commit}
			}),
			want: "tx t1: bank-c applied commit but the COMMIT (n1@5) names only [bank-a bank-b]"},
		{name: "an outsider's abort of a committed tx is correct",
			mutate: withLog(func(r *history.Run) {
				r.Final.ParticipantOutcomes["bank-c"] = map[string]string{"t1": abort}
			})},
		{name: "implicit commit names the staged set",
			mutate: withLog(func(r *history.Run) {
				appendEv(r, "n1", stageEv(50, "t7", "bank-a", "bank-b"),
					history.LogEvent{Index: 51, Kind: history.LogImplicitCommit, TxID: "t7"})
				r.Final.ParticipantOutcomes["bank-a"]["t7"] = commit
			}),
			want: "tx t7: the COMMIT (n1@51) names bank-b, which holds nothing for it"},
		{name: "nodes disagree on the set",
			mutate: withLog(func(r *history.Run) {
				r.Final.LogEvents["n3"] = []history.LogEvent{begin(1, "t1"), commitEv(5, "t1", "bank-a")}
			}),
			want: "tx t1: the COMMIT names [bank-a bank-b] at n1@5 but [bank-a] at n3@5"},
		{name: "a node's table names another set than its log",
			mutate: withLog(func(r *history.Run) {
				r.Final.Committed = map[string]map[string][]string{"n2": {"t1": {"bank-a"}}}
			}),
			want: "tx t1: n2's table names [bank-a] as committed, its log's COMMIT names [bank-a bank-b]"},
		{name: "a COMMIT compacted into a snapshot is read from the table",
			mutate: withLog(func(r *history.Run) {
				r.Final.Committed = map[string]map[string][]string{"n1": {"t8": {"bank-b", "bank-a"}}}
				r.Final.ParticipantOutcomes["bank-a"]["t8"] = commit
			}),
			want: "tx t8: the COMMIT (n1's table) names bank-b, which holds nothing for it"},
	})
}
