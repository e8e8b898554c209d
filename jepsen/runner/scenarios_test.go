package runner_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/internal/failpoint"
	"github.com/arbiter-tx/arbiter/jepsen/check"
	"github.com/arbiter-tx/arbiter/jepsen/history"
	"github.com/arbiter-tx/arbiter/jepsen/runner"
)

// Scenarios modelled on bugs found in other systems' coordinators. Each runs
// the real process cluster with a targeted fault, then every checker must
// pass and the fault must have actually happened.

func runScenario(t *testing.T, cfg runner.Config) (*history.Run, []check.Result) {
	t.Helper()
	if testing.Short() {
		t.Skip("process-cluster scenario; skipped with -short")
	}
	cfg.Name = t.Name()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	cfg.BinDir = binDir
	if cfg.Duration == 0 {
		cfg.Duration = 12 * time.Second
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 4
	}
	if cfg.Workload == "" {
		cfg.Workload = "bank"
	}
	cfg.Seed = 7
	cfg.Progress = func(s string) { t.Log(s) }
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run, err := runner.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return run, check.All(run)
}

func requirePass(t *testing.T, results []check.Result) {
	t.Helper()
	for _, r := range results {
		if !r.Pass {
			t.Errorf("%s failed:\n  %s", r.Name, strings.Join(r.Evidence, "\n  "))
		}
	}
}

func requireFault(t *testing.T, run *history.Run, kind string) {
	t.Helper()
	for _, f := range run.Faults {
		if f.Kind == kind && !strings.Contains(f.Detail, "inject:") {
			return
		}
	}
	t.Fatalf("no %s fault happened; faults: %+v", kind, run.Faults)
}

func requireCommits(t *testing.T, run *history.Run) {
	t.Helper()
	n := 0
	for _, op := range run.Ops {
		if op.Outcome == history.OutcomeCommit {
			n++
		}
	}
	if n < 10 {
		t.Fatalf("only %d operations committed: the scenario did not exercise the cluster", n)
	}
}

func TestScenarioCoordinatorDiesBetweenDecisionAndPhase2(t *testing.T) {
	run, res := runScenario(t, runner.Config{Nemeses: []string{runner.CrashPoints},
		CoordFailpoints: failpoint.AfterDecide.Arm(0.05), BankFailpoints: failpoint.Unarmed.Arm(0)})
	requireFault(t, run, runner.CrashPoints)
	requireCommits(t, run)
	requirePass(t, res)
}

func TestScenarioParticipantKilledAfterYesVote(t *testing.T) {
	run, res := runScenario(t, runner.Config{Nemeses: []string{runner.CrashPoints},
		CoordFailpoints: failpoint.Unarmed.Arm(0), BankFailpoints: failpoint.VoteAfterSend.Arm(0.03)})
	requireFault(t, run, runner.CrashPoints)
	requireCommits(t, run)
	requirePass(t, res)
}

func TestScenarioLeaderKilledMidPrepareResolvesAfterHeal(t *testing.T) {
	run, res := runScenario(t, runner.Config{Nemeses: []string{runner.CrashPoints},
		CoordFailpoints: failpoint.BeforeDecide.Arm(0.05), BankFailpoints: failpoint.Unarmed.Arm(0)})
	requireFault(t, run, runner.CrashPoints)
	requirePass(t, res) // includes liveness: nothing prepared 10 s after the heal
}

// Calls in flight to a paused leader time out; the client retries the same
// transaction ID elsewhere. The work must still be applied exactly once.
func TestScenarioOutcomeUnknownThenClientRetries(t *testing.T) {
	run, res := runScenario(t, runner.Config{Nemeses: []string{"pause-leader"}, Interval: 4 * time.Second})
	requireFault(t, run, "pause-leader")
	retried := 0
	for _, op := range run.Ops {
		if op.Kind == history.KindTransfer && op.Attempts.Unanswered > 0 && op.Attempts.Calls > op.Attempts.Unanswered &&
			(op.Outcome == history.OutcomeCommit || op.Outcome == history.OutcomeAbort) {
			retried++
		}
	}
	if retried == 0 {
		t.Fatal("no transfer had a Commit or Abort attempt end without an answer and then get one by the same tx ID: " +
			"the scenario did not exercise an unknown outcome")
	}
	t.Logf("transfers answered after an unanswered attempt: %d; client retries: %d", retried, run.ClientRetries)
	requireChecked(t, res, check.NameExactlyOnce)
	requirePass(t, res) // exactly-once per account, conservation and durability
}

// requireChecked fails unless the named checker ran and examined something.
func requireChecked(t *testing.T, results []check.Result, name string) {
	t.Helper()
	for _, r := range results {
		if r.Name == name && r.Checked > 0 {
			return
		}
	}
	t.Fatalf("checker %s did not run or checked nothing", name)
}

// Phase-2 messages pass through slow proxies, so messages an old leader sent
// before it was killed arrive after the new leader took over.
func TestScenarioDelayedPhase2FromOldLeader(t *testing.T) {
	run, res := runScenario(t, runner.Config{Nemeses: []string{"latency", "kill-leader"}, Interval: 3 * time.Second})
	requireFault(t, run, "kill-leader")
	requireFault(t, run, "latency")
	requirePass(t, res)
}

// Deadlines shorter than a slow prepare: participants' recovery asks for the
// outcome while the coordinator is still committing.
func TestScenarioRecoveryRacingLateCommit(t *testing.T) {
	run, res := runScenario(t, runner.Config{Nemeses: []string{"latency"}, Interval: 3 * time.Second,
		TxTimeout: 300 * time.Millisecond})
	requireFault(t, run, "latency")
	requirePass(t, res)
}

// A paused leader wakes up believing it still leads; it must not answer
// "no decision" (ACTIVE) for a transaction another leader decided.
func TestScenarioPausedLeaderServesNoStaleNoDecision(t *testing.T) {
	// Pauses outlast the client's 2 s attempt timeout and an election, so
	// that a new leader decides transactions while the old one sleeps.
	run, res := runScenario(t, runner.Config{Workload: "status", Nemeses: []string{"pause-leader"},
		Interval: 8 * time.Second, Hold: 6 * time.Second, Duration: 20 * time.Second})
	requireFault(t, run, "pause-leader")
	asked := 0
	for _, f := range run.Faults {
		if f.Kind == "pause-leader" && len(f.Targets) == 1 {
			asked += requireNoStaleAnswer(t, run, f)
		}
	}
	if asked == 0 {
		t.Fatal("the resumed old leader was never asked directly about a transaction decided while it was paused")
	}
	t.Logf("direct Status answers from resumed old leaders about transactions decided during their pause: %d", asked)
	requireResolves(t, run)
	requirePass(t, res) // linearizable includes the direct Status ops
}

// requireResolves fails unless the status workload's Resolve calls got
// answers (so linearizable checked them).
func requireResolves(t *testing.T, run *history.Run) {
	t.Helper()
	answers := map[string]int{}
	for _, op := range run.Ops {
		if op.Kind == history.KindResolve {
			answers[op.Status]++
		}
	}
	if answers["PENDING"]+answers["ABORT"] == 0 {
		t.Fatalf("no Resolve call was answered: %v", answers)
	}
	t.Logf("Resolve answers: %v", answers)
}

// requireNoStaleAnswer checks the Status calls sent straight to the node f
// paused and answered after it resumed, about transactions some client saw
// decided during the pause: none may say ACTIVE (no decision). It returns
// how many such answers there were.
func requireNoStaleAnswer(t *testing.T, run *history.Run, f history.Fault) int {
	t.Helper()
	decidedAt := map[string]time.Duration{} // tx -> when a client first learned its decision
	for _, op := range run.Ops {
		if (op.Kind == history.KindCommit || op.Kind == history.KindAbort) &&
			(op.Outcome == history.OutcomeCommit || op.Outcome == history.OutcomeAbort) {
			if at, ok := decidedAt[op.TxID]; !ok || op.End < at {
				decidedAt[op.TxID] = op.End
			}
		}
	}
	n := 0
	answers := map[string]int{}
	for _, op := range run.Ops {
		at, ok := decidedAt[op.TxID]
		if op.Node != f.Targets[0] || !ok || at < f.Start || at > f.End || op.Start < at || op.End < f.End {
			continue
		}
		answers[op.Status+" "+op.Err]++
		if op.Status == "" {
			continue // refused (not leader, deposed) or no answer: not stale
		}
		n++
		if op.Status == "ACTIVE" {
			t.Errorf("op %d: %s, resumed after its pause, answered ACTIVE for tx %s, decided at %s during the pause",
				op.Index, op.Node, op.TxID, at)
		}
	}
	t.Logf("%s paused %s-%s: direct Status answers after it resumed: %v", f.Targets[0], f.Start, f.End, answers)
	return n
}

// Parallel commit: the leader is killed right after answering COMMIT for a
// transaction that is only STAGING in the log (no DECIDE exists): the next
// leader must find every participant prepared and commit it everywhere;
// transactions caught before every vote came in must abort, never half-apply.
func TestScenarioParallelCommitLeaderDiesAfterImplicitCommit(t *testing.T) {
	run, res := runScenario(t, runner.Config{Nemeses: []string{runner.CrashPoints}, CommitMode: runner.CommitParallel,
		CoordFailpoints: failpoint.BeforeDecide.Arm(0.05), BankFailpoints: failpoint.VoteAfterSend.Arm(0.01)})
	requireFault(t, run, runner.CrashPoints)
	requireCommits(t, run)
	requirePass(t, res)
}

// Every crash point gets a run of its own with only that point armed: the
// point must fire (the node's log says so), the supervisor must restart the
// killed process, and every checker must pass. (after-decide, before-decide
// and vote-after-send have their own scenarios above.)
func TestScenarioEachCrashPoint(t *testing.T) {
	for _, tc := range []struct {
		point failpoint.Point
		coord bool    // a coordinator point, else a bank point
		prob  float64 // per hit: high enough to fire in a short run
	}{
		{point: failpoint.Phase2Mid, coord: true, prob: 0.03},
		{point: failpoint.PrepareBeforeDurable, prob: 0.04},
		{point: failpoint.PrepareAfterDurable, prob: 0.04},
		{point: failpoint.CommitBeforeApply, prob: 0.04},
		{point: failpoint.CommitAfterApply, prob: 0.04},
	} {
		t.Run(string(tc.point), func(t *testing.T) {
			cfg := runner.Config{Nemeses: []string{runner.CrashPoints}, Dir: t.TempDir(),
				Duration: 10 * time.Second, CoordFailpoints: failpoint.Unarmed.Arm(0), BankFailpoints: failpoint.Unarmed.Arm(0)}
			arm := tc.point.Arm(tc.prob)
			if tc.coord {
				cfg.CoordFailpoints = arm
			} else {
				cfg.BankFailpoints = arm
			}
			run, res := runScenario(t, cfg)
			requireCrashAt(t, run, cfg.Dir, tc.point, tc.coord)
			requireCommits(t, run)
			requirePass(t, res)
		})
	}
}

// requireCrashAt fails unless a process of the right kind died at point
// (its log says so) and the supervisor restarted it.
func requireCrashAt(t *testing.T, run *history.Run, dir string, point failpoint.Point, coord bool) {
	t.Helper()
	for _, f := range run.Faults {
		if f.Kind != runner.CrashPoints || len(f.Targets) != 1 || !strings.HasSuffix(f.Detail, "; restarted") ||
			strings.HasPrefix(f.Targets[0], "n") != coord {
			continue
		}
		log, err := os.ReadFile(filepath.Join(dir, "nodes", f.Targets[0]+".log"))
		if err != nil {
			t.Fatalf("log of %s: %v", f.Targets[0], err)
		}
		if strings.Contains(string(log), `"`+failpoint.LogKey+`":"`+string(point)+`"`) {
			return
		}
	}
	t.Fatalf("no process died at %s and was restarted; faults: %+v; logs: %s", point, run.Faults, logMentions(dir, point))
}

// logMentions says which node logs mention point, for a failure message.
func logMentions(dir string, point failpoint.Point) string {
	paths, _ := filepath.Glob(filepath.Join(dir, "nodes", "*.log"))
	var out []string
	for _, p := range paths {
		data, _ := os.ReadFile(p)
		out = append(out, filepath.Base(p)+": "+strconv.Itoa(strings.Count(string(data), string(point))))
	}
	return strings.Join(out, ", ")
}

// The transfers workload (issue 14 item 4's harness): the bank workload's
// transfers alone, each one Commit (one-shot: the SDK's Run), no reads and
// no service-driven joins, against the leader and a bank killed together.
// Every checker passes, the history holds nothing but such transfers (and
// the final transaction), transfers committed after the kills, and the
// longest commit gap is measured.
func TestScenarioTransfersWorkload(t *testing.T) {
	run, results := runScenario(t, runner.Config{Workload: runner.WorkloadTransfers, CommitMode: runner.CommitOneShot,
		Nemeses: []string{"kill-leader-participant"}, Concurrency: 8, Hold: 2 * time.Second, Interval: 5 * time.Second})
	requirePass(t, results)
	var commits, afterKill int
	var firstKill time.Duration = -1
	for _, f := range run.Faults {
		if firstKill < 0 || f.Start < firstKill {
			firstKill = f.Start
		}
	}
	if firstKill < 0 {
		t.Fatal("no fault was injected")
	}
	for _, op := range run.Ops {
		switch {
		case op.Kind == "final":
		case op.Kind != "transfer":
			t.Fatalf("op %d is a %q: the transfers workload runs transfers only", op.Index, op.Kind)
		case op.Mode == "service-driven":
			t.Fatalf("op %d is service-driven: the transfers workload sends each transfer as one Commit", op.Index)
		case op.Outcome == history.OutcomeCommit:
			commits++
			if op.End > firstKill {
				afterKill++
			}
		}
	}
	if commits == 0 || afterKill == 0 {
		t.Fatalf("%d transfers committed, %d after the first kill at %v", commits, afterKill, firstKill)
	}
	gap := check.LongestCommitGap(run)
	if gap.Gap <= 0 {
		t.Fatalf("longest commit gap %v, want a measured interval", gap.Gap)
	}
	t.Logf("%d transfers committed (%d after the first kill); longest commit gap %v", commits, afterKill, gap.Gap)
}
