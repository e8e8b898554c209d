package check

import (
	"strings"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/jepsen/history"
)

const (
	commit = history.OutcomeCommit
	abort  = history.OutcomeAbort
)

// bankRun is a clean bank history: t1 transfers 10 from a to b and commits,
// t2 aborts on a no vote, t3 reads 100+100, and the final tx t4 commits.
func bankRun() *history.Run {
	both := []string{"bank-a", "bank-b"}
	return &history.Run{
		Name: "clean", Workload: "bank", Nemeses: []string{"partition"},
		Ops: []history.Op{
			{Index: 0, Kind: history.KindTransfer, TxID: "t1", Outcome: commit, Participants: both,
				Deltas: []history.Delta{{Participant: "bank-a", Account: "a", Delta: -10}, {Participant: "bank-b", Account: "b", Delta: 10}}},
			{Index: 1, Kind: history.KindTransfer, TxID: "t2", Outcome: abort, Participants: both},
			{Index: 2, Kind: history.KindRead, TxID: "t3", Outcome: commit, Participants: both,
				Read: map[string]int64{"a": 90, "b": 110}},
			{Index: 3, Kind: history.KindTransfer, Outcome: history.OutcomeFail},
			{Index: 4, Kind: history.KindFinal, TxID: "t4", Outcome: commit, Participants: both},
		},
		Final: history.Final{
			ParticipantOutcomes: map[string]map[string]string{
				"bank-a": {"t1": commit, "t2": abort, "t3": commit, "t4": commit},
				"bank-b": {"t1": commit, "t3": commit, "t4": commit},
			},
			Prepared:  map[string][]string{"bank-a": nil},
			Decisions: map[string]map[string]string{"n1": decided(), "n2": decided(), "n3": {"t1": commit}},
			Balances:  map[string]int64{"a": 90, "b": 110},
			Expected:  200, Opening: 100, FinalTxOK: true, LivenessWait: 5 * time.Second,
		},
	}
}

func decided() map[string]string {
	return map[string]string{"t1": commit, "t2": abort, "t3": commit, "t4": commit}
}

type checkCase struct {
	name   string
	mutate func(*history.Run)
	want   string // "" = pass; else a substring of the evidence
}

func runCases(t *testing.T, check func(*history.Run) Result, cases []checkCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			run := bankRun()
			if tc.mutate != nil {
				tc.mutate(run)
			}
			res := check(run)
			joined := strings.Join(res.Evidence, "\n")
			if res.Pass != (tc.want == "") {
				t.Fatalf("%s: pass=%v, want %v; evidence:\n%s", res.Name, res.Pass, tc.want == "", joined)
			}
			if !strings.Contains(joined, tc.want) {
				t.Fatalf("%s: evidence lacks %q:\n%s", res.Name, tc.want, joined)
			}
			if res.Checked == 0 && tc.want != "" {
				t.Fatalf("%s: failed with Checked 0", res.Name)
			}
		})
	}
}

func TestAtomicity(t *testing.T) {
	runCases(t, Atomicity, []checkCase{
		{name: "clean"},
		{name: "participant committed what coordinators aborted",
			mutate: func(r *history.Run) { r.Final.ParticipantOutcomes["bank-b"]["t2"] = commit },
			want:   "tx t2: participant bank-b applied commit, coordinators: abort on n1,n2"},
		{name: "commit applied with no decision at all",
			mutate: func(r *history.Run) { r.Final.ParticipantOutcomes["bank-b"]["t9"] = commit },
			want:   "tx t9: participant bank-b applied commit, coordinators: no coordinator decision"},
		{name: "member aborted a committed tx",
			mutate: func(r *history.Run) { r.Final.ParticipantOutcomes["bank-b"]["t1"] = abort },
			want:   "tx t1: participant bank-b applied abort"},
		{name: "outsider aborting a committed tx is correct",
			mutate: func(r *history.Run) {
				r.Final.ParticipantOutcomes["bank-c"] = map[string]string{"t1": abort}
			}},
		{name: "member holds nothing for a committed tx",
			mutate: func(r *history.Run) { delete(r.Final.ParticipantOutcomes["bank-b"], "t3") },
			want:   "member bank-b holds nothing"},
		{name: "member still prepared is left to liveness",
			mutate: func(r *history.Run) {
				delete(r.Final.ParticipantOutcomes["bank-b"], "t3")
				r.Final.Prepared["bank-b"] = []string{"t3"}
			}},
	})
}

func TestDurability(t *testing.T) {
	runCases(t, Durability, []checkCase{
		{name: "clean"},
		{name: "acked commit not applied at one participant",
			mutate: func(r *history.Run) { delete(r.Final.ParticipantOutcomes["bank-b"], "t1") },
			want:   "tx t1 (op 0, transfer): acknowledged commit, participant bank-b holds nothing"},
		{name: "acked commit still prepared",
			mutate: func(r *history.Run) {
				delete(r.Final.ParticipantOutcomes["bank-b"], "t1")
				r.Final.Prepared["bank-b"] = []string{"t1"}
			},
			want: "participant bank-b holds still prepared"},
		{name: "acked commit decided abort",
			mutate: func(r *history.Run) { r.Final.Decisions["n3"]["t1"] = abort },
			want:   "tx t1 (op 0, transfer): acknowledged commit, coordinators: commit on n1,n2; abort on n3"},
		{name: "acked commit never decided",
			mutate: func(r *history.Run) {
				for _, d := range r.Final.Decisions {
					delete(d, "t4")
				}
			},
			want: "tx t4 (op 4, final): acknowledged commit, coordinators: no coordinator decision"},
		{name: "acked abort applied",
			mutate: func(r *history.Run) { r.Final.ParticipantOutcomes["bank-a"]["t2"] = commit },
			want:   "tx t2 (op 1, transfer): acknowledged abort, participant bank-a applied commit"},
		{name: "acked abort decided commit",
			mutate: func(r *history.Run) { r.Final.Decisions["n1"]["t2"] = commit },
			want:   "acknowledged abort, coordinators: commit on n1"},
		{name: "acked commit without tx ID",
			mutate: func(r *history.Run) { r.Ops[3].Outcome = commit },
			want:   "op 3 (transfer): acknowledged commit without a tx ID"},
	})
}

func TestUniqueness(t *testing.T) {
	runCases(t, Uniqueness, []checkCase{
		{name: "clean"},
		{name: "two coordinators disagree",
			mutate: func(r *history.Run) { r.Final.Decisions["n2"]["t1"] = abort },
			want:   "tx t1: decided both ways: commit on n1,n3; abort on n2"},
		{name: "log conflict",
			mutate: func(r *history.Run) { r.Final.LogConflicts = []string{"index 42: n1 DECIDE(t1) vs n2 NOOP"} },
			want:   "raft log conflict: index 42: n1 DECIDE(t1) vs n2 NOOP"},
	})
}
