package check

import (
	"fmt"
	"testing"

	"github.com/arbiter-tx/arbiter/jepsen/history"
)

func TestConservation(t *testing.T) {
	runCases(t, Conservation, []checkCase{
		{name: "clean"},
		{name: "read with wrong sum",
			mutate: func(r *history.Run) { r.Ops[2].Read["a"] = 100 },
			want:   "read op 2 (tx t3): total 210, expected 200"},
		{name: "negative balance in a read",
			mutate: func(r *history.Run) { r.Ops[2].Read = map[string]int64{"a": -10, "b": 210} },
			want:   "read op 2 (tx t3): account a is negative: -10"},
		{name: "aborted read is not checked",
			mutate: func(r *history.Run) { r.Ops[2].Outcome = abort; r.Ops[2].Read["a"] = 0 }},
		{name: "final balances lost money",
			mutate: func(r *history.Run) { r.Final.Balances["b"] = 100 },
			want:   "final balances: total 190, expected 200"},
		{name: "negative final balance",
			mutate: func(r *history.Run) { r.Final.Balances = map[string]int64{"a": -1, "b": 201} },
			want:   "final balances: account a is negative: -1"},
	})
}

func TestConservationSkipsStatusWorkload(t *testing.T) {
	run := statusRun(op(history.KindCommit, commit, "", 0, 10))
	if res := Conservation(run); !res.Pass || res.Checked != 0 {
		t.Fatalf("got %+v, want a pass with Checked 0", res)
	}
}

func TestLiveness(t *testing.T) {
	runCases(t, Liveness, []checkCase{
		{name: "clean"},
		{name: "prepared left",
			mutate: func(r *history.Run) { r.Final.Prepared["bank-b"] = []string{"t7", "t8"} },
			want:   "participant bank-b: 2 tx still prepared 5s after the heal: t7, t8"},
	})
}

func TestFinalTx(t *testing.T) {
	runCases(t, FinalTx, []checkCase{
		{name: "clean"},
		{name: "final tx failed",
			mutate: func(r *history.Run) { r.Final.FinalTxOK, r.Final.FinalTxErr = false, "deadline exceeded" },
			want:   "final transaction t4 did not commit: deadline exceeded"},
	})
}

func TestEvidenceIsBounded(t *testing.T) {
	run := bankRun()
	for i := range 50 {
		run.Final.LogConflicts = append(run.Final.LogConflicts, fmt.Sprintf("index %d", i))
	}
	res := Uniqueness(run)
	if res.Pass || len(res.Evidence) != maxEvidence+1 || res.Evidence[maxEvidence] != "... and 30 more anomalies" {
		t.Fatalf("got %d lines, last %q", len(res.Evidence), res.Evidence[len(res.Evidence)-1])
	}
}

func TestAllOrder(t *testing.T) {
	want := []string{NameAtomicity, NameDurability, NameUniqueness, NameVotesBeforeCommit, NameConservation, NameExactlyOnce, NameLiveness, NameFinalTx}
	bank := All(bankRun())
	assertNames(t, bank, want)
	for _, res := range bank {
		if !res.Pass {
			t.Errorf("clean run: %s failed: %v", res.Name, res.Evidence)
		}
	}
	status := statusRun(op(history.KindCommit, commit, "", 0, 10))
	want = []string{NameAtomicity, NameDurability, NameUniqueness, NameVotesBeforeCommit, NameLiveness, NameFinalTx, NameLinearizable}
	assertNames(t, All(status), want)
	status.Ops[0].Expect = history.ExpectNotCommitted
	want = append(want, NameExpectedAnswers)
	assertNames(t, All(status), want)
}

func assertNames(t *testing.T, results []Result, want []string) {
	t.Helper()
	if len(results) != len(want) {
		t.Fatalf("got %d results, want %v", len(results), want)
	}
	for i, res := range results {
		if res.Name != want[i] {
			t.Errorf("result %d is %s, want %s", i, res.Name, want[i])
		}
	}
}
