package runner_test

import (
	"context"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/internal/localcluster"
	"github.com/arbiter-tx/arbiter/jepsen/history"
	"github.com/arbiter-tx/arbiter/jepsen/netns"
	"github.com/arbiter-tx/arbiter/jepsen/runner"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// Network partitions, in both network modes: namespaces + iptables (root)
// and the userspace proxy per link (no root; forced with Config.Net).

// netModes lists the modes this machine can run.
func netModes(t *testing.T) []string {
	modes := []string{runner.NetProxy}
	if netns.Available() == nil {
		modes = append(modes, runner.NetNamespaces)
	} else {
		t.Logf("network namespaces unavailable; proxy mode only")
	}
	return modes
}

// startSession starts a cluster with no workload and no schedule.
func startSession(t *testing.T, mode string) *runner.Session {
	t.Helper()
	if testing.Short() {
		t.Skip("process-cluster scenario; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := runner.Start(ctx, runner.Config{Name: t.Name(), Workload: "bank", Duration: time.Second, Concurrency: 1,
		Dir: t.TempDir(), BinDir: binDir, Net: mode, TxTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	t.Cleanup(func() { dumpLogsOnFailure(t, s) }) // runs before Close
	return s
}

// dumpLogsOnFailure logs the warnings and errors of every process.
func dumpLogsOnFailure(t *testing.T, s *runner.Session) {
	if !t.Failed() {
		return
	}
	for _, p := range s.Cluster().All() {
		b, _ := os.ReadFile(p.LogPath)
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, `"level":"warn"`) || strings.Contains(l, `"level":"error"`) || strings.Contains(l, "leader") {
				t.Logf("%s: %.300s", p.Name, l)
			}
		}
	}
}

func inspect(t *testing.T, s *runner.Session, name string) *arbiterpb.InspectResponse {
	t.Helper()
	for _, b := range s.Cluster().Banks {
		if b.Name == name {
			r, err := localcluster.Inspect(context.Background(), b)
			if err != nil {
				t.Fatalf("inspect %s: %v", name, err)
			}
			return r
		}
	}
	t.Fatalf("no bank %s", name)
	return nil
}

func transfer(t *testing.T, s *runner.Session, from, to string, d time.Duration) (string, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return s.Transfer(ctx, from, to, 1)
}

func mustCommit(t *testing.T, s *runner.Session, from, to string) {
	t.Helper()
	if id, out, why := transfer(t, s, from, to, 20*time.Second); out != history.OutcomeCommit {
		t.Fatalf("transfer %s -> %s (%s): %s %s", from, to, id, out, why)
	}
}

// A participant cut from every coordinator must receive nothing from
// them: no Prepare (the coordinator-driven transaction is never prepared
// there and the bank applies no decision during the cut), while the cut
// links really held the coordinators' calls. After the heal everything
// resolves and the same pair of banks commits again. (The audit's bug: the
// coordinators reached the bank through a proxy iptables did not cut.)
func TestNetCutParticipantGetsNothingFromCutCoordinators(t *testing.T) {
	for _, mode := range netModes(t) {
		t.Run(mode, func(t *testing.T) {
			s := startSession(t, mode)
			mustCommit(t, s, "bank1", "bank3") // connections exist before the cut
			settle(t, s)                       // and its phase 2 is done
			before := inspect(t, s, "bank3")
			for _, c := range []string{"n1", "n2", "n3"} {
				if err := s.Cut("bank3", c); err != nil {
					t.Fatal(err)
				}
			}
			id, out, why := transfer(t, s, "bank1", "bank3", 8*time.Second)
			t.Logf("transfer during the cut: %s %s %s", id, out, why)
			if out == history.OutcomeCommit {
				t.Fatalf("a transaction at a bank cut from every coordinator committed (%s)", id)
			}
			during := inspect(t, s, "bank3")
			for _, p := range during.GetPrepared() {
				if p.GetTxId() == id {
					t.Errorf("bank3 prepared %s although cut from every coordinator", id)
				}
			}
			if during.GetCommitted() != before.GetCommitted() || during.GetAborted() != before.GetAborted() {
				t.Errorf("bank3 applied decisions during the cut: committed %d -> %d, aborted %d -> %d",
					before.GetCommitted(), during.GetCommitted(), before.GetAborted(), during.GetAborted())
			}
			var held int64
			for _, c := range []string{"n1", "n2", "n3"} {
				held += s.Mesh().Held(c, "bank3")
			}
			if held == 0 {
				t.Error("no coordinator traffic to bank3 was held: the cut was not exercised")
			}
			healAndSettle(t, s)
			mustCommit(t, s, "bank1", "bank3")
		})
	}
}

func healAndSettle(t *testing.T, s *runner.Session) {
	t.Helper()
	if err := s.Heal(); err != nil {
		t.Fatal(err)
	}
	settle(t, s)
}

func settle(t *testing.T, s *runner.Session) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Settle(ctx, 20*time.Second); err != nil {
		t.Fatal(err)
	}
}

// Partition cells in proxy mode (no namespaces, one proxy per link): the
// run passes every checker, each nemesis was injected, and each cut held
// real traffic.
func TestNetPartitionCellsInProxyMode(t *testing.T) {
	nemeses := []string{"partition-leader", "partition-participant"}
	run, res := runScenario(t, runner.Config{Nemeses: nemeses, Net: runner.NetProxy,
		Duration: 15 * time.Second, Interval: 4 * time.Second})
	for _, n := range nemeses {
		requireFault(t, run, n)
		requireHeld(t, run, n)
	}
	requireCommits(t, run)
	requirePass(t, res)
	if r := runner.CheckFaults(run); !r.Pass {
		t.Errorf("faults check: %v", r.Evidence)
	}
}

var heldRE = regexp.MustCompile(`cut links held traffic (\d+) times`)

// requireHeld: some fault of this kind held traffic on its cut links.
func requireHeld(t *testing.T, run *history.Run, kind string) {
	t.Helper()
	for _, f := range run.Faults {
		if m := heldRE.FindStringSubmatch(f.Detail); f.Kind == kind && m != nil {
			if n, _ := strconv.Atoi(m[1]); n > 0 {
				return
			}
		}
	}
	t.Errorf("no %s fault held any traffic: %+v", kind, run.Faults)
}

// A phase-2 message from an old leader, held on the old leader -> bank
// link until a new leader (higher term) has been elected and has finished
// the same transaction at that bank, arrives late: the bank must refuse it
// as stale (ErrStaleTerm, logged "stale coordinator term") and the outcome
// must not change. Supersedes TestScenarioDelayedPhase2FromOldLeader, whose
// 20-100 ms latency is shorter than an election, so nothing arrived after a
// failover.
//
// The script makes the held message certain: bank2's Prepare is held until
// bank1 has voted, then the leader -> bank1 link is held and bank2
// released, so the only thing the leader sends bank1 afterwards is phase 2.
// The old leader is then paused (SIGSTOP): a leader that steps down cancels
// its calls, and the cancellation would follow the held message; paused, it
// cancels nothing, and the others elect a new leader meanwhile.
func TestScenarioHeldPhase2FromOldLeaderRefusedAfterFailover(t *testing.T) {
	s := startSession(t, "")
	ctx := context.Background()
	old, info, err := s.Cluster().Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("old leader %s, term %d, mode %s", old.Name, info.GetTerm(), s.NetMode())
	mesh := s.Mesh()
	if err := mesh.Hold(old.Name, "bank2"); err != nil {
		t.Fatal(err)
	}
	done := make(chan string, 1)
	go func() {
		id, out, why := transfer(t, s, "bank1", "bank2", 30*time.Second)
		done <- id + " " + out + " " + why
	}()
	waitFor(t, 5*time.Second, "bank1 voted yes", func() bool { return len(inspect(t, s, "bank1").GetPrepared()) == 1 })
	txID := inspect(t, s, "bank1").GetPrepared()[0].GetTxId()
	if err := mesh.Hold(old.Name, "bank1"); err != nil {
		t.Fatal(err)
	}
	mesh.Release(old.Name, "bank2")
	waitFor(t, 5*time.Second, "phase 2 to bank1 held", func() bool { return mesh.Held(old.Name, "bank1") > 0 })
	if err := old.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer old.Signal(syscall.SIGCONT)
	waitFor(t, 15*time.Second, "a new leader finished "+txID+" at bank1", func() bool {
		r := inspect(t, s, "bank1")
		return r.GetHighestTerm() > info.GetTerm() && len(r.GetPrepared()) == 0
	})
	mesh.Release(old.Name, "bank1")
	line := waitLog(t, s, "bank1", "stale coordinator term", 10*time.Second)
	t.Logf("bank1 refused the old leader's message: %.300s", line)
	if err := old.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		t.Logf("client saw: %s", r)
	case <-time.After(40 * time.Second):
		t.Fatal("the transfer never returned")
	}
	healAndSettle(t, s)
	st, err := s.Client().Status(ctx, txID)
	if err != nil || st.GetState() != arbiterpb.TxState_TX_STATE_COMMITTED {
		t.Fatalf("status of %s after the stale message: %v, %v; want COMMITTED", txID, st.GetState(), err)
	}
	total, err := s.Total(ctx)
	if want := int64(3 * 16 * 100); err != nil || total != want {
		t.Fatalf("money after the stale message: %d, %v; want %d", total, err, want)
	}
	mustCommit(t, s, "bank1", "bank2")
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out after %v waiting for: %s", d, what)
		}
	}
}

// waitLog returns the first line of name's log containing substr.
func waitLog(t *testing.T, s *runner.Session, name, substr string, d time.Duration) string {
	t.Helper()
	var line string
	waitFor(t, d, name+" logs "+substr, func() bool {
		for _, p := range s.Cluster().All() {
			if p.Name != name {
				continue
			}
			b, _ := os.ReadFile(p.LogPath)
			for _, l := range strings.Split(string(b), "\n") {
				if strings.Contains(l, substr) {
					line = l
					return true
				}
			}
		}
		return false
	})
	return line
}

// A nemesis whose every injection failed (or that never ran) fails the
// faults-injected check, naming it; crash points and injected faults pass.
func TestCheckFaultsFailsNemesisNeverInjected(t *testing.T) {
	run := &history.Run{Nemeses: []string{"kill-leader", "partition-leader", "latency", runner.CrashPoints},
		Faults: []history.Fault{
			{Kind: "kill-leader", Detail: "injected at attempt 2"},
			{Kind: "partition-leader", Detail: "inject: no leader to target (gave up after 12 attempts)"},
		}}
	r := runner.CheckFaults(run)
	if r.Pass || r.Anomalies != 2 || r.Checked != 3 {
		t.Fatalf("CheckFaults = %+v; want a failure for partition-leader and latency", r)
	}
	got := strings.Join(r.Evidence, "\n")
	if !strings.Contains(got, "partition-leader never injected (1 failed attempts") || !strings.Contains(got, "latency never injected (0") {
		t.Errorf("evidence does not name the missing faults:\n%s", got)
	}
	run.Nemeses = []string{"kill-leader", runner.CrashPoints}
	if r := runner.CheckFaults(run); !r.Pass {
		t.Errorf("CheckFaults failed a run whose faults happened: %v", r.Evidence)
	}
}
