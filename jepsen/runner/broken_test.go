package runner_test

import (
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
