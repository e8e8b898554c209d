package check

import (
	"testing"

	"github.com/arbiter-tx/arbiter/jepsen/history"
)

func move(from, to string, amount int64) []history.Delta {
	return []history.Delta{
		{Participant: "bank-a", Account: from, Delta: -amount},
		{Participant: "bank-b", Account: to, Delta: amount},
	}
}

// ledgerRun adds deltas to bankRun (where t1 moved 10 from a to b and every
// account opened with 100): t2 would have moved 5 (aborted), op 3 7 (failed).
func ledgerRun(r *history.Run) {
	r.Ops[1].Deltas = move("a", "b", 5)
	r.Ops[3].Deltas = move("b", "a", 7) // failed: never began
}

// lateT6 adds t6: a commit of nothing at bank-a and bank-b (op 5) and
// bank-c's own move of 4 between c1 and c2 under the same tx (op 6),
// whose outcome the client did not learn.
func lateT6(r *history.Run) {
	r.Ops = append(r.Ops,
		history.Op{Index: 5, Kind: history.KindCommit, TxID: "t6", Outcome: commit, Participants: []string{"bank-a", "bank-b"}},
		history.Op{Index: 6, Kind: history.KindTransfer, TxID: "t6", Outcome: history.OutcomeUnknown,
			Deltas: []history.Delta{{Participant: "bank-c", Account: "c1", Delta: -4}, {Participant: "bank-c", Account: "c2", Delta: 4}}})
	r.Final.Balances["c1"], r.Final.Balances["c2"] = 100, 100
}

func TestExactlyOnce(t *testing.T) {
	withLedger := func(mutate func(*history.Run)) func(*history.Run) {
		return func(r *history.Run) {
			ledgerRun(r)
			if mutate != nil {
				mutate(r)
			}
		}
	}
	unknownT5 := func(r *history.Run) {
		r.Ops = append(r.Ops, history.Op{Index: 5, Kind: history.KindTransfer, TxID: "t5",
			Outcome: history.OutcomeUnknown, Deltas: move("a", "b", 3)})
	}
	runCases(t, ExactlyOnce, []checkCase{
		{name: "clean", mutate: withLedger(nil)},
		{name: "transfer applied twice",
			mutate: withLedger(func(r *history.Run) { r.Final.Balances = map[string]int64{"a": 80, "b": 120} }),
			want:   "account a: final 80, opening 100 + -10 committed = 90; 0 unknown transfer(s) cannot make up -10 (as if tx t1's -10 applied twice)"},
		{name: "aborted transfer applied",
			mutate: withLedger(func(r *history.Run) { r.Final.Balances = map[string]int64{"a": 85, "b": 115} }),
			want:   "account b: final 115, opening 100 + 10 committed = 110; 0 unknown transfer(s) cannot make up +5 (as if tx t2, which did not commit, applied +5)"},
		{name: "committed transfer missing",
			mutate: withLedger(func(r *history.Run) { r.Final.Balances = map[string]int64{"a": 100, "b": 100} }),
			want:   "(as if committed tx t1's -10 never applied)"},
		{name: "unknown transfer may have applied",
			mutate: withLedger(func(r *history.Run) {
				unknownT5(r)
				r.Final.Balances = map[string]int64{"a": 87, "b": 113}
			})},
		{name: "unknown transfer may not have applied",
			mutate: withLedger(unknownT5)},
		{name: "unknown transfer applied twice",
			mutate: withLedger(func(r *history.Run) {
				unknownT5(r)
				r.Final.Balances = map[string]int64{"a": 84, "b": 116}
			}),
			want: "account a: final 84, opening 100 + -10 committed = 90; 1 unknown transfer(s) cannot make up -6"},
		{name: "unknown transfer decided abort counts as not applied",
			mutate: withLedger(func(r *history.Run) {
				unknownT5(r)
				r.Final.Decisions["n1"]["t5"] = abort
				r.Final.Balances = map[string]int64{"a": 87, "b": 113}
			}),
			want: "(as if tx t5, which did not commit, applied -3)"},
		{name: "a late enlistee the COMMIT does not name did not apply",
			mutate: withLedger(withLog(func(r *history.Run) {
				lateT6(r)
				appendEv(r, "n1", begin(40, "t6"), commitEv(41, "t6", "bank-a", "bank-b"))
				r.Final.Decisions["n1"]["t6"] = commit
			}))},
		{name: "a late enlistee the COMMIT does not name, applied anyway",
			mutate: withLedger(withLog(func(r *history.Run) {
				lateT6(r)
				appendEv(r, "n1", begin(40, "t6"), commitEv(41, "t6", "bank-a", "bank-b"))
				r.Final.Decisions["n1"]["t6"] = commit
				r.Final.Balances["c1"], r.Final.Balances["c2"] = 96, 104
			})),
			want: "account c1: final 96, opening 100 + 0 committed = 100; 0 unknown transfer(s) cannot make up -4"},
		{name: "a late enlistee the COMMIT names applied",
			mutate: withLedger(withLog(func(r *history.Run) {
				lateT6(r)
				appendEv(r, "n1", begin(40, "t6"), commitEv(41, "t6", "bank-a", "bank-b", "bank-c"))
				r.Final.Decisions["n1"]["t6"] = commit
				r.Final.Balances["c1"], r.Final.Balances["c2"] = 96, 104
			}))},
		{name: "account missing from the final balances",
			mutate: withLedger(func(r *history.Run) { delete(r.Final.Balances, "b") }),
			want:   "account b: transfers touched it but the final balances lack it"},
	})
}

func TestAccountFitsFallsBackToAnInterval(t *testing.T) {
	var unknown []int64
	for i := range 40 {
		unknown = append(unknown, int64(1)<<(i%20)+int64(i)) // too many distinct sums to enumerate
	}
	if !accountFits(5, unknown) || accountFits(-1, unknown) {
		t.Fatal("interval fallback: want 5 inside and -1 outside [0, sum]")
	}
	if !accountFits(-3, []int64{-1, -2, 4}) || accountFits(5, []int64{-1, -2, 4}) {
		t.Fatal("exact subset sums of {-1,-2,4}: -3 is one, 5 is not")
	}
}
