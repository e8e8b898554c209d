package check

import (
	"testing"

	"github.com/arbiter-tx/arbiter/jepsen/history"
)

func begin(i uint64, id string) history.LogEvent {
	return history.LogEvent{Index: i, Kind: history.LogBegin, TxID: id}
}

// commitEv is a DECIDE COMMIT naming parts as its yes voters.
func commitEv(i uint64, id string, parts ...string) history.LogEvent {
	return history.LogEvent{Index: i, Kind: history.LogDecide, TxID: id, Outcome: commit, Participants: parts}
}

func enlistEv(i uint64, id, p string) history.LogEvent {
	return history.LogEvent{Index: i, Kind: history.LogEnlist, TxID: id, Participants: []string{p}}
}

func finishEv(i uint64, id string, at int64) history.LogEvent {
	return history.LogEvent{Index: i, Kind: history.LogFinish, TxID: id, At: at}
}

func forgetEv(i uint64, before int64) history.LogEvent {
	return history.LogEvent{Index: i, Kind: history.LogForget, ForgetBefore: before}
}

func stageEv(i uint64, id string, parts ...string) history.LogEvent {
	return history.LogEvent{Index: i, Kind: history.LogStage, TxID: id, Participants: parts}
}

func decideEv(i uint64, id, outcome string, presumed bool) history.LogEvent {
	return history.LogEvent{Index: i, Kind: history.LogDecide, TxID: id, Outcome: outcome, Presumed: presumed}
}

// withLog gives bankRun's coordinators the logs behind their decisions:
// n1 and n2 begin t1-t4 and decide them, n3 holds t1 only.
func withLog(mutate func(*history.Run)) func(*history.Run) {
	return func(r *history.Run) {
		full := []history.LogEvent{begin(1, "t1"), begin(2, "t2"), begin(3, "t3"), begin(4, "t4"),
			commitEv(5, "t1", "bank-a", "bank-b"), decideEv(6, "t2", abort, false),
			commitEv(7, "t3", "bank-a", "bank-b"), commitEv(8, "t4", "bank-a", "bank-b")}
		r.Final.LogEvents = map[string][]history.LogEvent{
			"n1": full, "n2": append([]history.LogEvent(nil), full...),
			"n3": {begin(1, "t1"), commitEv(5, "t1", "bank-a", "bank-b")},
		}
		if mutate != nil {
			mutate(r)
		}
	}
}

func appendEv(r *history.Run, node string, evs ...history.LogEvent) {
	r.Final.LogEvents[node] = append(r.Final.LogEvents[node], evs...)
}

func TestUniquenessFromTheLog(t *testing.T) {
	runCases(t, Uniqueness, []checkCase{
		{name: "clean", mutate: withLog(nil)},
		{name: "later opposite DECIDE ignored",
			mutate: withLog(func(r *history.Run) { appendEv(r, "n1", decideEv(20, "t1", abort, true)) })},
		{name: "later DECIDE took effect at a participant",
			mutate: withLog(func(r *history.Run) {
				appendEv(r, "n1", decideEv(20, "t1", abort, true))
				r.Final.ParticipantOutcomes["bank-b"]["t1"] = abort
			}),
			want: "tx t1: first decided commit (n1@5), a later DECIDE abort ([n1@20]) took effect: participant bank-b applied abort"},
		{name: "later DECIDE took effect in an answer",
			mutate: withLog(func(r *history.Run) {
				appendEv(r, "n2", decideEv(21, "t2", commit, false))
				r.Ops = append(r.Ops, history.Op{Index: 5, Kind: history.KindStatus, TxID: "t2", Status: statusCommitted})
			}),
			want: "tx t2: first decided abort (n1@6), a later DECIDE ([n2@21]) took effect: op 5 (status) was answered commit"},
		{name: "FSM replay took the later DECIDE",
			mutate: withLog(func(r *history.Run) {
				appendEv(r, "n3", begin(9, "t2"), decideEv(10, "t2", commit, false), decideEv(11, "t2", abort, false))
				r.Final.Decisions["n3"]["t2"] = abort
			}),
			want: "tx t2: n3's log first decides commit (index 10) but its FSM replay says abort"},
		{name: "logs disagree",
			mutate: withLog(func(r *history.Run) {
				r.Final.LogEvents["n3"] = []history.LogEvent{begin(1, "t1"), decideEv(5, "t1", abort, false)}
			}),
			want: "tx t1: first decided commit in n1's log (index 5) but abort in n3's (index 5)"},
		{name: "presumed abort of STAGING refused, then committed implicitly",
			mutate: withLog(func(r *history.Run) {
				appendEv(r, "n1", stageEv(30, "t5", "bank-a", "bank-b"),
					decideEv(31, "t5", abort, true), history.LogEvent{Index: 32, Kind: history.LogImplicitCommit, TxID: "t5"})
				r.Final.Decisions["n1"]["t5"] = commit
			})},
		{name: "FSM replay lets a presumed abort decide a STAGING tx",
			mutate: withLog(func(r *history.Run) {
				appendEv(r, "n1", stageEv(30, "t5", "bank-a", "bank-b"),
					decideEv(31, "t5", abort, true), history.LogEvent{Index: 32, Kind: history.LogImplicitCommit, TxID: "t5"})
				r.Final.Decisions["n1"]["t5"] = abort
			}),
			want: "tx t5: n1's log first decides commit (index 32) but its FSM replay says abort"},
		{name: "COMMIT without the enlisted participant's vote is refused (rule 1); the ABORT after it decides",
			mutate: withLog(func(r *history.Run) {
				appendEv(r, "n1", begin(40, "t6"), enlistEv(41, "t6", "bank-c"), commitEv(42, "t6", "bank-a", "bank-b"),
					decideEv(43, "t6", abort, false))
				r.Final.Decisions["n1"]["t6"] = abort
			})},
		{name: "FSM replay took a COMMIT that rule 1 refuses",
			mutate: withLog(func(r *history.Run) {
				appendEv(r, "n1", begin(40, "t6"), enlistEv(41, "t6", "bank-c"), commitEv(42, "t6", "bank-a", "bank-b"),
					decideEv(43, "t6", abort, false))
				r.Final.Decisions["n1"]["t6"] = commit
			}),
			want: "tx t6: n1's log first decides abort (index 43) but its FSM replay says commit"},
		{name: "finished, forgotten, then asked about: nothing is created",
			mutate: withLog(func(r *history.Run) {
				appendEv(r, "n1", finishEv(20, "t2", 100), forgetEv(30, 200), decideEv(31, "t2", abort, true),
					history.LogEvent{Index: 32, Kind: history.LogEnlist, TxID: "t2", Participants: []string{"bank-a"}})
			})},
		{name: "a forgotten ID run again",
			mutate: withLog(func(r *history.Run) {
				appendEv(r, "n1", finishEv(20, "t2", 100), forgetEv(30, 200),
					history.LogEvent{Index: 31, Kind: history.LogDecide, TxID: "t2", Outcome: abort, Presumed: true, Create: true})
			}),
			want: "tx t2: first decided abort (n1@6), forgotten after the uniqueness window, then recorded again at n1@[31]"},
		{name: "the window's cut keeps what finished after it",
			mutate: withLog(func(r *history.Run) {
				appendEv(r, "n1", finishEv(20, "t2", 300), forgetEv(30, 200),
					history.LogEvent{Index: 31, Kind: history.LogDecide, TxID: "t2", Outcome: commit, Create: true})
			})},
		{name: "DECIDE of an unknown tx is ignored",
			mutate: withLog(func(r *history.Run) { appendEv(r, "n1", decideEv(40, "t9", abort, true)) })},
		{name: "DECIDE of a tx compacted into a snapshot is left to the FSM",
			mutate: withLog(func(r *history.Run) {
				r.Final.SnapshotIndex = map[string]uint64{"n1": 3}
				r.Final.LogEvents["n1"] = r.Final.LogEvents["n1"][3:] // t1-t3 begun before the snapshot
				r.Final.LogEvents["n1"] = append(r.Final.LogEvents["n1"], decideEv(40, "t1", abort, true))
			})},
	})
}
