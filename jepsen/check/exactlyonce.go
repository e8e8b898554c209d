package check

import (
	"fmt"
	"slices"

	"github.com/arbiter-tx/arbiter/jepsen/history"
)

// maxReachable bounds the subset-sum search over one account's unknown
// deltas; past it the check falls back to an interval (see accountFits).
const maxReachable = 1 << 16

// ledger is what the history says about one account: the sum of the deltas
// that certainly applied, and those that may or may not have.
type ledger struct {
	certain  int64
	unknown  []int64
	applied  []txDelta // certainly applied, for hints
	excluded []txDelta // certainly not applied, for hints
}

// txDelta is one tx's change to one account.
type txDelta struct {
	tx    string
	delta int64
}

// ExactlyOnce checks invariant 5 per account: each account's final balance
// is its opening balance plus the deltas of the transfers that committed,
// each applied once. A transfer the client saw commit counts; one it saw
// abort or fail does not. A transfer whose outcome it never learned counts
// as the coordinators decided it when every node that decided agrees, and
// either way when no node decided it; the final balance must then equal
// the certain sum plus some subset of those unknown deltas (exact subset
// sum, or an interval when the search would exceed maxReachable sums). A
// delta of an op whose outcome the client did not learn, in a tx that
// committed, counts only if the COMMIT names its participant (see
// VotesBeforeCommit): a late enlistee the COMMIT left out rolled back.
// The check is per account, so it cannot see one unknown transfer counted
// on one side and not the other; Conservation sees the total. Runs without
// transfers pass with Checked 0.
func ExactlyOnce(run *history.Run) Result {
	var ev evidence
	if !hasKind(run, history.KindTransfer) {
		ev.notef("skipped: no transfer ops")
		return ev.result(NameExactlyOnce, 0)
	}
	books := ledgers(run)
	accts := unionKeys(books, run.Final.Balances)
	for _, acct := range accts {
		checkAccount(&ev, run.Final, acct, books[acct])
	}
	return ev.result(NameExactlyOnce, len(accts))
}

// ledgers sorts every op's deltas into certain, unknown and excluded. Any
// op kind may carry deltas (the race workload's Commit calls do); a
// workload puts each change of a tx on exactly one op.
func ledgers(run *history.Run) map[string]*ledger {
	dec := verdicts(run.Final)
	var scratch evidence // disagreements are other checkers' to report
	named, _ := namedByCommit(&scratch, run)
	books := map[string]*ledger{}
	for _, op := range run.Ops {
		applied, known := transferApplied(op, dec[op.TxID])
		for _, d := range op.Deltas {
			b := books[d.Account]
			if b == nil {
				b = &ledger{}
				books[d.Account] = b
			}
			a := applied
			if parts, ok := named[op.TxID]; ok && applied && op.Outcome != history.OutcomeCommit {
				a = slices.Contains(parts, d.Participant) // the decision says; the COMMIT says where
			}
			b.add(op.TxID, d.Delta, a, known)
		}
	}
	return books
}

// transferApplied says whether op's deltas must have applied (applied,
// known) or may have (known false).
func transferApplied(op history.Op, v *verdict) (applied, known bool) {
	switch op.Outcome {
	case history.OutcomeCommit:
		return true, true
	case history.OutcomeAbort, history.OutcomeFail:
		return false, true
	}
	switch {
	case op.TxID == "":
		return false, true // never began
	case v.committed() && !v.aborted():
		return true, true
	case v.aborted() && !v.committed():
		return false, true
	}
	return false, false
}

func (b *ledger) add(tx string, delta int64, applied, known bool) {
	switch {
	case !known:
		b.unknown = append(b.unknown, delta)
	case applied:
		b.certain += delta
		b.applied = append(b.applied, txDelta{tx, delta})
	default:
		b.excluded = append(b.excluded, txDelta{tx, delta})
	}
}

func checkAccount(ev *evidence, f history.Final, acct string, b *ledger) {
	if b == nil {
		b = &ledger{}
	}
	final, ok := f.Balances[acct]
	if !ok {
		ev.addf("account %s: transfers touched it but the final balances lack it", acct)
		return
	}
	diff := final - f.Opening - b.certain
	if accountFits(diff, b.unknown) {
		return
	}
	ev.addf("account %s: final %d, opening %d + %d committed = %d; %d unknown transfer(s) cannot make up %+d%s",
		acct, final, f.Opening, b.certain, f.Opening+b.certain, len(b.unknown), diff, b.hint(diff))
}

// accountFits reports whether some subset of unknown sums to diff.
func accountFits(diff int64, unknown []int64) bool {
	reach := map[int64]bool{0: true}
	for _, d := range unknown {
		next := make(map[int64]bool, 2*len(reach))
		for s := range reach {
			next[s], next[s+d] = true, true
		}
		if len(next) > maxReachable {
			return inInterval(diff, unknown)
		}
		reach = next
	}
	return reach[diff]
}

// inInterval is the coarse fallback: diff lies between the sum of the
// negative and the sum of the positive unknown deltas.
func inInterval(diff int64, unknown []int64) bool {
	var lo, hi int64
	for _, d := range unknown {
		if d < 0 {
			lo += d
		} else {
			hi += d
		}
	}
	return lo <= diff && diff <= hi
}

// hint names a tx whose delta explains diff: applied twice, applied though
// it did not commit, or missing though it committed.
func (b *ledger) hint(diff int64) string {
	if i := slices.IndexFunc(b.applied, func(t txDelta) bool { return t.delta == diff && diff != 0 }); i >= 0 {
		return fmt.Sprintf(" (as if tx %s's %+d applied twice)", b.applied[i].tx, diff)
	}
	if i := slices.IndexFunc(b.excluded, func(t txDelta) bool { return t.delta == diff && diff != 0 }); i >= 0 {
		return fmt.Sprintf(" (as if tx %s, which did not commit, applied %+d)", b.excluded[i].tx, diff)
	}
	if i := slices.IndexFunc(b.applied, func(t txDelta) bool { return t.delta == -diff && diff != 0 }); i >= 0 {
		return fmt.Sprintf(" (as if committed tx %s's %+d never applied)", b.applied[i].tx, -diff)
	}
	return ""
}
