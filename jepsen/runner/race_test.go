package runner

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/arbiter-tx/arbiter/internal/failpoint"
	"github.com/arbiter-tx/arbiter/jepsen/history"
)

func raceConfig(t *testing.T) Config {
	return Config{Workload: WorkloadRace, Duration: time.Second, Concurrency: 1, Dir: t.TempDir(), BinDir: t.TempDir()}
}

// The race workload runs its coordinators with a short window (and a max
// timeout under it) and arms do-after-enlist more often; a window that
// leaves no room for the workers' lifetime and a misspelt crash point are
// refused.
func TestRaceConfig(t *testing.T) {
	c := raceConfig(t)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if want := []string{"--uniqueness-window", "8s", "--max-timeout", "6s"}; !slices.Equal(c.coordArgs(), want) {
		t.Fatalf("coordinator args %v, want %v", c.coordArgs(), want)
	}
	if !strings.Contains(c.BankFailpoints, failpoint.DoAfterEnlist.Arm(0.05)) {
		t.Fatalf("bank failpoints %q do not arm do-after-enlist at 5%%", c.BankFailpoints)
	}
	bank := Config{Workload: WorkloadBank, Duration: time.Second, Concurrency: 1, Dir: t.TempDir(), BinDir: t.TempDir()}
	if err := bank.Validate(); err != nil || bank.coordArgs() != nil || !strings.Contains(bank.BankFailpoints, failpoint.DoAfterEnlist.Arm(0.003)) {
		t.Fatalf("bank workload: %v, args %v, failpoints %q", err, bank.coordArgs(), bank.BankFailpoints)
	}
	e := &env{cfg: c}
	if want := []string{"--outcome-retention", "1h0m0s"}; !slices.Equal(e.bankArgs("bank1"), want) {
		t.Fatalf("bank args %v, want %v: the banks would prune outcome records the checkers read", e.bankArgs("bank1"), want)
	}
	if args := (&env{cfg: bank}).bankArgs("bank1"); args != nil {
		t.Fatalf("bank workload: bank args %v, want none", args)
	}
	short := raceConfig(t)
	short.UniquenessWindow = 6 * time.Second
	if err := short.Validate(); err == nil || !strings.Contains(err.Error(), "want at least 7s") {
		t.Fatalf("a 6 s window: got %v, want a refusal", err)
	}
	broken := raceConfig(t)
	broken.Broken = "enlist-into-comit"
	if err := broken.Validate(); err == nil || !strings.Contains(err.Error(), `"enlist-into-comit"`) {
		t.Fatalf("a misspelt broken mode: got %v, want a refusal", err)
	}
	broken.Broken = "enlist-into-commit"
	if err := broken.Validate(); err != nil {
		t.Fatalf("--broken enlist-into-commit: %v", err)
	}
	typo := raceConfig(t)
	typo.BankFailpoints = "do-after-enlst=0.1"
	if err := typo.Validate(); err == nil || !strings.Contains(err.Error(), "do-after-enlst") {
		t.Fatalf("a misspelt crash point: got %v, want a refusal naming it", err)
	}
}

// A late enlistee's part: the tx's outcome when its Apply succeeded, none
// when it was refused before preparing, unknown when the answer was lost.
func TestLateOutcome(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, history.OutcomeCommit},
		{status.Error(codes.FailedPrecondition, "committing without you"), history.OutcomeFail},
		{status.Error(codes.NotFound, "unknown transaction"), history.OutcomeFail},
		{status.Error(codes.Unavailable, "connection refused"), history.OutcomeUnknown},
		{status.Error(codes.Unknown, "abort not recorded"), history.OutcomeUnknown},
	} {
		if got, _ := lateOutcome(tc.err, history.OutcomeCommit); got != tc.want {
			t.Errorf("lateOutcome(%v) = %s, want %s", tc.err, got, tc.want)
		}
	}
}

// A race run in which a case never ran fails race-coverage, naming it;
// crash-point deaths are counted by point.
func TestCheckRaceCases(t *testing.T) {
	run := &history.Run{Workload: WorkloadRace}
	for _, c := range RaceCases() {
		if c != caseStaleRetry {
			run.Ops = append(run.Ops, history.Op{Kind: history.KindCommit, Case: c, Outcome: history.OutcomeCommit})
		}
	}
	run.Faults = []history.Fault{
		{Kind: CrashPoints, Targets: []string{"bank2"}, Detail: "process died at a crash point " + string(failpoint.DoAfterEnlist) + "; restarted"},
		{Kind: CrashPoints, Targets: []string{"n1"}, Detail: "process died at a crash point; restarted"},
	}
	r := CheckRaceCases(run)
	ev := strings.Join(r.Evidence, "\n")
	if r.Pass || r.Anomalies != 1 || !strings.Contains(ev, "stale-retry: never ran") {
		t.Fatalf("got pass=%v anomalies=%d:\n%s", r.Pass, r.Anomalies, ev)
	}
	if !strings.Contains(ev, "crash points reached: "+string(failpoint.DoAfterEnlist)+" 1, unnamed 1") {
		t.Fatalf("crash points not counted:\n%s", ev)
	}
	run.Ops = append(run.Ops, history.Op{Kind: history.KindCommit, Case: caseStaleRetry, Outcome: history.OutcomeFail},
		history.Op{Kind: history.KindCommit, Case: caseLateEnlist, Outcome: history.OutcomeFail,
			Err: "rpc error: code = FailedPrecondition desc = branches differ from the transaction's: a commit of t over [b1 b2] is in progress and this Commit names [b3]"})
	r = CheckRaceCases(run)
	if !r.Pass {
		t.Fatalf("every case ran: %v", r.Evidence)
	}
	if ev := strings.Join(r.Evidence, "\n"); !strings.Contains(ev, "refused as naming another (branches differ; a coordinator answer to fix, not an invariant): late-enlist 1") {
		t.Fatalf("a spurious refusal is not counted:\n%s", ev)
	}
}

// The crash point a process died at is read from its last log line.
func TestCrashPointIn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bank1.log")
	line := `{"level":"warn","msg":"crash point reached: killing this process","` + failpoint.LogKey + `":"` + string(failpoint.DoAfterEnlist) + `"}` + "\n"
	if err := os.WriteFile(path, []byte(`{"level":"info","msg":"serving"}`+"\n"+line), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := crashPointIn(path); got != " "+string(failpoint.DoAfterEnlist) {
		t.Fatalf("crashPointIn = %q", got)
	}
	if got := crashPointIn(filepath.Join(t.TempDir(), "missing.log")); got != "" {
		t.Fatalf("a missing log: %q", got)
	}
}
