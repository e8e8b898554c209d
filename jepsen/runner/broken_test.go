package runner_test

import (
	"strings"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/jepsen/check"
	"github.com/arbiter-tx/arbiter/jepsen/runner"
)

// The checkers can fail: a coordinator broken on purpose must be caught.

func failed(results []check.Result) map[string]bool {
	out := map[string]bool{}
	for _, r := range results {
		if !r.Pass {
			out[r.Name] = true
		}
	}
	return out
}

// Deciding COMMIT despite a no vote (an overdraft refused by a bank) breaks
// atomicity and conservation.
func TestBrokenCommitDespiteNoIsCaught(t *testing.T) {
	_, res := runScenario(t, runner.Config{Broken: "commit-despite-no", Duration: 10 * time.Second})
	f := failed(res)
	if !f[check.NameAtomicity] {
		t.Fatalf("atomicity passed against a coordinator that commits despite no votes; failed: %v", f)
	}
	if !f[check.NameConservation] {
		t.Fatalf("conservation passed although money was created or destroyed; failed: %v", f)
	}
}

// Answering COMMIT before the decision is in Raft, with the leader killed
// in that window, loses acknowledged commits: durability must fail.
func TestBrokenAckBeforeDecideIsCaught(t *testing.T) {
	_, res := runScenario(t, runner.Config{Broken: "ack-before-decide", Nemeses: []string{"kill-leader"},
		Interval: 3 * time.Second, Duration: 12 * time.Second})
	if f := failed(res); !f[check.NameDurability] {
		t.Fatalf("durability passed against a coordinator that acknowledges before deciding; failed: %v", f)
	}
}

// The same broken coordinator in parallel-commit mode (the implicit commit
// path) must be caught too.
func TestBrokenCommitDespiteNoIsCaughtInParallelMode(t *testing.T) {
	_, res := runScenario(t, runner.Config{Broken: "commit-despite-no", CommitMode: runner.CommitParallel, Duration: 10 * time.Second})
	if f := failed(res); !f[check.NameAtomicity] || !f[check.NameConservation] {
		t.Fatalf("atomicity and conservation must fail in parallel mode; failed: %v", f)
	}
}

// A second, opposite DECIDE that takes effect (the coordinator drives phase
// 2 with it although the FSM kept the first) must be caught by uniqueness,
// re-derived from the decoded log rather than the FSM, and by exactly-once
// (acknowledged transfers never applied).
func TestBrokenSecondDecisionIsCaught(t *testing.T) {
	_, res := runScenario(t, runner.Config{Broken: "second-decision", Duration: 8 * time.Second})
	f := failed(res)
	if !f[check.NameUniqueness] {
		t.Fatalf("uniqueness passed against a coordinator whose second decision takes effect; failed: %v", f)
	}
	if ev := evidenceOf(res, check.NameUniqueness); !strings.Contains(ev, "a later DECIDE abort") || !strings.Contains(ev, "took effect: participant") {
		t.Fatalf("uniqueness evidence does not name the second decision:\n%s", ev)
	}
	if !f[check.NameExactlyOnce] {
		t.Fatalf("exactly-once passed although acknowledged transfers were never applied; failed: %v", f)
	}
}

// A COMMIT naming a participant that enlisted while the commit was being
// decided and never voted (the union the FSM took before rule 1; the race
// workload's late enlists, a third of which never prepare) must be caught:
// votes-before-commit finds the named participant holding nothing, and
// expected-answers a Commit answered COMMIT although such an enlistee was
// accepted.
func TestBrokenEnlistIntoCommitIsCaught(t *testing.T) {
	_, res := runScenario(t, runner.Config{Workload: runner.WorkloadRace, Broken: "enlist-into-commit",
		Duration: 20 * time.Second, Concurrency: 6})
	f := failed(res)
	if !f[check.NameVotesBeforeCommit] {
		t.Fatalf("votes-before-commit passed against a coordinator that names unvoted enlistees in its COMMIT; failed: %v", f)
	}
	if ev := evidenceOf(res, check.NameVotesBeforeCommit); !strings.Contains(ev, "which holds nothing for it") {
		t.Fatalf("votes-before-commit evidence does not name a participant holding nothing:\n%s", ev)
	}
	if !f[check.NameExpectedAnswers] {
		t.Fatalf("expected-answers passed although a Commit answered COMMIT over an accepted, unprepared enlistee; failed: %v", f)
	}
}

func evidenceOf(results []check.Result, name string) string {
	for _, r := range results {
		if r.Name == name {
			return strings.Join(r.Evidence, "\n")
		}
	}
	return ""
}
