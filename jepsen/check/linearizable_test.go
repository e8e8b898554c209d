package check

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/jepsen/history"
)

const unknown = history.OutcomeUnknown

// op is one status-workload op on tx "t1", from start to end milliseconds.
// For status ops the outcome is "commit" and status is the answer; so for
// answered resolve ops, with no outcome.
func op(kind, outcome, status string, start, end int) history.Op {
	switch {
	case kind == history.KindStatus:
		outcome, status = commit, outcome
	case history.Asks(kind) && outcome != unknown:
		outcome, status = "", outcome
	}
	return history.Op{Kind: kind, TxID: "t1", Outcome: outcome, Status: status,
		Start: time.Duration(start) * time.Millisecond, End: time.Duration(end) * time.Millisecond}
}

func statusRun(ops ...history.Op) *history.Run {
	for i := range ops {
		ops[i].Index, ops[i].Worker = i, i
	}
	return &history.Run{Name: "status", Workload: "status", Ops: ops}
}

const (
	cmt = history.KindCommit
	abt = history.KindAbort
	sts = history.KindStatus
	rsv = history.KindResolve
	rsm = history.KindResolveMember
)

func TestLinearizable(t *testing.T) {
	cases := []struct {
		name string
		ops  []history.Op
		want string // "" = linearizable; else a substring of the evidence
	}{
		{"commit then status committed",
			[]history.Op{op(sts, "ACTIVE", "", 0, 5), op(cmt, commit, "", 10, 20), op(sts, "COMMITTED", "", 30, 40)}, ""},
		{"status active after commit returned commit",
			[]history.Op{op(cmt, commit, "", 10, 20), op(sts, "ACTIVE", "", 30, 40)}, "status->ACTIVE"},
		{"commit returned commit, later status aborted",
			[]history.Op{op(cmt, commit, "", 10, 20), op(sts, "ABORTED", "", 30, 40)}, "tx t1: not linearizable"},
		{"unknown commit then status committed",
			[]history.Op{op(cmt, unknown, "", 10, 20), op(sts, "COMMITTED", "", 30, 40)}, ""},
		{"unknown commit then status aborted",
			[]history.Op{op(cmt, unknown, "", 10, 20), op(sts, "ABORTED", "", 30, 40)}, ""},
		{"unknown commit, committed, then active",
			[]history.Op{op(cmt, unknown, "", 10, 20), op(sts, "COMMITTED", "", 30, 40), op(sts, "ACTIVE", "", 50, 60)}, "status->ACTIVE"},
		{"abort returned commit without a commit",
			[]history.Op{op(abt, commit, "", 10, 20)}, "abort->commit"},
		{"abort returned commit after commit",
			[]history.Op{op(cmt, commit, "", 10, 20), op(abt, commit, "", 30, 40)}, ""},
		{"abort then commit returned commit",
			[]history.Op{op(abt, abort, "", 10, 20), op(cmt, commit, "", 30, 40)}, "commit->commit"},
		{"concurrent abort and commit may order either way",
			[]history.Op{op(abt, abort, "", 10, 40), op(cmt, abort, "", 20, 30), op(sts, "ABORTED", "", 50, 60)}, ""},
		{"deadline abort observed by status", []history.Op{op(sts, "ABORTED", "", 10, 20)}, ""},
		{"not found after a decision (finished, forgotten)",
			[]history.Op{op(cmt, commit, "", 10, 20), op(sts, "NOT_FOUND", "", 30, 40)}, ""},
		{"not found while undecided",
			[]history.Op{op(sts, "NOT_FOUND", "", 0, 5), op(sts, "ACTIVE", "", 10, 20)}, "status->NOT_FOUND"},
		{"not found, then commit returned commit",
			[]history.Op{op(sts, "NOT_FOUND", "", 0, 5), op(cmt, commit, "", 10, 20)}, "tx t1: not linearizable"},
		{"resolve pending, then commit",
			[]history.Op{op(rsv, "PENDING", "", 0, 5), op(cmt, commit, "", 10, 20), op(sts, "COMMITTED", "", 30, 40)}, ""},
		{"resolve pending after commit returned",
			[]history.Op{op(cmt, commit, "", 10, 20), op(rsv, "PENDING", "", 30, 40)}, "resolve->PENDING"},
		{"resolve abort to a non-member of a committed tx",
			[]history.Op{op(cmt, commit, "", 10, 20), op(rsv, "ABORT", "", 30, 40), op(sts, "COMMITTED", "", 50, 60)}, ""},
		{"resolve decided abort, then commit returned commit",
			[]history.Op{op(rsv, "ABORT", "", 0, 5), op(cmt, commit, "", 10, 20)}, "commit->commit"},
		{"resolve decided abort, then status active",
			[]history.Op{op(rsv, "ABORT", "", 0, 5), op(sts, "ACTIVE", "", 10, 20)}, "status->ACTIVE"},
		{"resolve answers commit to a non-member",
			[]history.Op{op(cmt, commit, "", 0, 5), op(rsv, "COMMIT", "", 10, 20)}, "resolve->COMMIT"},
		{"unanswered resolve may have decided abort",
			[]history.Op{op(rsv, unknown, "", 0, 5), op(sts, "ABORTED", "", 10, 20)}, ""},
		{"unanswered resolve may have done nothing",
			[]history.Op{op(rsv, unknown, "", 0, 5), op(cmt, commit, "", 10, 20)}, ""},
		{"member resolve pending early, then commit, then member resolve commit",
			[]history.Op{op(rsm, "PENDING", "", 0, 5), op(cmt, commit, "", 10, 20), op(rsm, "COMMIT", "", 30, 40)}, ""},
		{"member resolve aborts an undecided one-shot, the run joins the abort",
			[]history.Op{op(rsm, "ABORT", "", 0, 5), op(cmt, abort, "", 3, 20)}, ""},
		{"member resolve decided abort, then commit returned commit",
			[]history.Op{op(rsm, "ABORT", "", 0, 5), op(cmt, commit, "", 10, 20)}, "commit->commit"},
		{"member resolve commit after commit returned abort",
			[]history.Op{op(cmt, abort, "", 0, 5), op(rsm, "COMMIT", "", 10, 20)}, "resolve-member->COMMIT"},
		{"member resolve abort after commit returned commit",
			[]history.Op{op(cmt, commit, "", 0, 5), op(rsm, "ABORT", "", 10, 20)}, "resolve-member->ABORT"},
		{"member resolve pending after commit returned",
			[]history.Op{op(cmt, commit, "", 0, 5), op(rsm, "PENDING", "", 10, 20)}, "resolve-member->PENDING"},
		{"unanswered status is dropped",
			[]history.Op{op(cmt, commit, "", 10, 20), {Kind: sts, TxID: "t1", Outcome: unknown, Start: 30, End: 40}}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, lin := Linearizable(statusRun(tc.ops...))
			joined := strings.Join(res.Evidence, "\n")
			if res.Pass != (tc.want == "") || !strings.Contains(joined, tc.want) {
				t.Fatalf("pass=%v (%s), want %q; evidence:\n%s", res.Pass, lin.Result, tc.want, joined)
			}
			if res.Checked != 1 {
				t.Fatalf("checked %d txs, want 1", res.Checked)
			}
		})
	}
}

func TestLinearizableNamesOnlyBadTxs(t *testing.T) {
	good := op(cmt, commit, "", 0, 10)
	bad := []history.Op{op(cmt, commit, "", 0, 10), op(sts, "ABORTED", "", 20, 30)}
	bad[0].TxID, bad[1].TxID = "t2", "t2"
	res, _ := Linearizable(statusRun(good, bad[0], bad[1]))
	if res.Pass || res.Checked != 2 || len(res.Evidence) != 1 || !strings.HasPrefix(res.Evidence[0], "tx t2:") {
		t.Fatalf("got %+v", res)
	}
}

func TestLinearizabilityHTML(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lin.html")
	run := statusRun(op(cmt, commit, "", 10, 20), op(sts, "ACTIVE", "", 30, 40), op(cmt, unknown, "", 35, 45))
	if err := LinearizabilityHTML(run, path); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(data), "<html") {
		t.Fatalf("visualization not written: %v", err)
	}
}
