package coordinator_test

import (
	"context"
	"strings"
	"testing"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/coordinator"
	"github.com/arbiter-tx/arbiter/internal/security"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// Issue 14 item 4: fail fast on a participant that is down. Every node
// probes each registered participant (health.go); while its view says one
// is down, the leader answers a Prepare to it at once instead of retrying
// until the transaction's deadline.

// view is node n's health view of the participants, through Cluster.
func view(t *testing.T, n *testNode) *arbiterpb.ClusterResponse {
	t.Helper()
	resp, err := n.coord.Cluster(context.Background(), &arbiterpb.ClusterRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// waitDown waits until n's view says pid is down with a state containing
// want, and returns that state.
func waitDown(t *testing.T, n *testNode, pid, want string) string {
	t.Helper()
	var state string
	waitFor(t, 10*time.Second, n.id+" to see "+pid+" down ("+want+")", func() bool {
		state = view(t, n).GetUnreachable()[pid]
		return strings.Contains(state, want)
	})
	return state
}

// commitRaw sends a one-shot Commit straight to the leader (no client
// retries) and returns the response and how long it took.
func commitRaw(t *testing.T, c *testCluster, mode arbiterpb.CommitMode, branches ...*arbiterpb.Branch) (*arbiterpb.CommitResponse, time.Duration) {
	t.Helper()
	resp, took, err := commitOn(leaderClient(t, c), mode, branches...)
	if err != nil {
		t.Fatalf("commit: %v", err)
	}
	return resp, took
}

// leaderClient is a Coordinator client connected to the leader directly.
func leaderClient(t *testing.T, c *testCluster) arbiterpb.CoordinatorClient {
	t.Helper()
	return arbiterpb.NewCoordinatorClient(c.dial(c.members[c.waitLeader().id], security.RoleClient, "test"))
}

// commitOn sends a one-shot Commit through cli (safe from any goroutine).
func commitOn(cli arbiterpb.CoordinatorClient, mode arbiterpb.CommitMode, branches ...*arbiterpb.Branch) (*arbiterpb.CommitResponse, time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	resp, err := cli.Commit(ctx, &arbiterpb.CommitRequest{
		TxId: client.NewTxID(), OneShot: true, Mode: mode, Branches: branches, TimeoutMillis: 5000})
	return resp, time.Since(start), err
}

// failFastBound is how long a Prepare to a participant known to be down may
// take to be answered: milliseconds, with room for the race detector on a
// loaded two-core machine. Before the fix it took the whole 5 s deadline.
const failFastBound = time.Second

func TestPrepareToRefusingParticipantFailsFast(t *testing.T) {
	c := newTestCluster(t)
	a, b := c.addParticipant("a"), c.addParticipant("b")
	leader := c.waitLeader()
	b.kill()
	state := waitDown(t, leader, "b", "connection refused")
	for _, mode := range []arbiterpb.CommitMode{arbiterpb.CommitMode_COMMIT_MODE_STANDARD, arbiterpb.CommitMode_COMMIT_MODE_PARALLEL} {
		resp, took := commitRaw(t, c, mode, a.branch(-10), b.branch(10))
		if resp.GetOutcome() != arbiterpb.Outcome_OUTCOME_ABORT || took > failFastBound {
			t.Fatalf("%v commit touching down b: %v after %v, want ABORT within %v", mode, resp.GetOutcome(), took, failFastBound)
		}
		if !strings.Contains(resp.GetReason(), "participant b is down") || !strings.Contains(resp.GetReason(), "connection refused") {
			t.Fatalf("%v: reason %q does not name b and its state (%s)", mode, resp.GetReason(), state)
		}
	}
	// One-phase (a single participant) fails fast too.
	if resp, took := commitRaw(t, c, arbiterpb.CommitMode_COMMIT_MODE_STANDARD, b.branch(5)); resp.GetOutcome() != arbiterpb.Outcome_OUTCOME_ABORT || took > failFastBound {
		t.Fatalf("one-phase commit to down b: %v after %v, want ABORT within %v", resp.GetOutcome(), took, failFastBound)
	}
	// A transaction that does not touch b is not held up.
	if resp, _ := commitRaw(t, c, arbiterpb.CommitMode_COMMIT_MODE_STANDARD, a.branch(-7)); resp.GetOutcome() != arbiterpb.Outcome_OUTCOME_COMMIT {
		t.Fatalf("commit touching only a: %v (%s), want COMMIT", resp.GetOutcome(), resp.GetReason())
	}
	waitFor(t, 10*time.Second, "a's balance", func() bool { return a.balance() == 93 })
	if a.prepared() != 0 {
		t.Fatalf("a holds %d prepared transactions after the aborts", a.prepared())
	}
}

func TestProbeClosesBreakerOnFirstSuccess(t *testing.T) {
	c := newTestCluster(t)
	a, b := c.addParticipant("a"), c.addParticipant("b")
	leader := c.waitLeader()
	b.kill()
	waitDown(t, leader, "b", "connection refused")
	b.start()
	back := time.Now()
	waitFor(t, 10*time.Second, "the leader to see b again", func() bool {
		return view(t, leader).GetUnreachable()["b"] == ""
	})
	// First success closes it: one probe period plus the probe itself,
	// with room for scheduling under -race.
	if took := time.Since(back); took > 2*time.Second {
		t.Fatalf("the breaker closed %v after b came back, want within about one probe period", took)
	}
	resp, _ := commitRaw(t, c, arbiterpb.CommitMode_COMMIT_MODE_STANDARD, a.branch(-10), b.branch(10))
	if resp.GetOutcome() != arbiterpb.Outcome_OUTCOME_COMMIT {
		t.Fatalf("commit after b came back: %v (%s)", resp.GetOutcome(), resp.GetReason())
	}
	waitFor(t, 10*time.Second, "phase 2", func() bool { return a.balance() == 90 && b.balance() == 110 })
}

func TestNotServingParticipantIsDown(t *testing.T) {
	c := newTestCluster(t)
	a, b := c.addParticipant("a"), c.addParticipant("b")
	leader := c.waitLeader()
	b.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	waitDown(t, leader, "b", "NOT_SERVING")
	resp, took := commitRaw(t, c, arbiterpb.CommitMode_COMMIT_MODE_STANDARD, a.branch(-10), b.branch(10))
	if resp.GetOutcome() != arbiterpb.Outcome_OUTCOME_ABORT || took > failFastBound || !strings.Contains(resp.GetReason(), "NOT_SERVING") {
		t.Fatalf("commit touching NOT_SERVING b: %v after %v (%q), want ABORT within %v naming NOT_SERVING", resp.GetOutcome(), took, resp.GetReason(), failFastBound)
	}
	b.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	waitFor(t, 10*time.Second, "b serving again", func() bool { return view(t, leader).GetUnreachable()["b"] == "" })
	if resp, _ := commitRaw(t, c, arbiterpb.CommitMode_COMMIT_MODE_STANDARD, a.branch(-10), b.branch(10)); resp.GetOutcome() != arbiterpb.Outcome_OUTCOME_COMMIT {
		t.Fatalf("commit after b serves again: %v (%s)", resp.GetOutcome(), resp.GetReason())
	}
}

func TestHangingParticipantIsDownAfterConsecutiveTimeouts(t *testing.T) {
	c := newTestCluster(t)
	a, b := c.addParticipant("a"), c.addParticipant("b")
	leader := c.waitLeader()
	b.hang.Store(true)
	t.Cleanup(func() { b.hang.Store(false) })
	waitDown(t, leader, "b", "3 consecutive timeouts")
	resp, took := commitRaw(t, c, arbiterpb.CommitMode_COMMIT_MODE_STANDARD, a.branch(-10), b.branch(10))
	// The last-chance attempt is bounded by ProbeTimeout (200 ms).
	if resp.GetOutcome() != arbiterpb.Outcome_OUTCOME_ABORT || took > failFastBound || !strings.Contains(resp.GetReason(), "timeouts") {
		t.Fatalf("commit touching hanging b: %v after %v (%q), want ABORT within %v", resp.GetOutcome(), took, resp.GetReason(), failFastBound)
	}
	b.hang.Store(false)
	waitFor(t, 10*time.Second, "b answering again", func() bool { return view(t, leader).GetUnreachable()["b"] == "" })
}

// A blip shorter than the probe period (b's server gone for 300 ms while a
// transaction prepares) must not abort a transaction that would commit: the
// breaker opens, and the last attempt comes a probe period later.
func TestBlipShorterThanProbePeriodDoesNotAbort(t *testing.T) {
	c := newTestClusterWith(t, func(cfg *coordinator.Config) { cfg.ProbeInterval = time.Second })
	a, b := c.addParticipant("a"), c.addParticipant("b")
	c.waitLeader()
	b.kill()
	done := make(chan *arbiterpb.CommitResponse, 1)
	go func() {
		resp, _ := commitRaw(t, c, arbiterpb.CommitMode_COMMIT_MODE_STANDARD, a.branch(-10), b.branch(10))
		done <- resp
	}()
	time.Sleep(300 * time.Millisecond) // the blip
	b.start()
	resp := recv(t, done, 20*time.Second, "the commit")
	if resp.GetOutcome() != arbiterpb.Outcome_OUTCOME_COMMIT {
		t.Fatalf("a blip of 300 ms (probe period 1 s) aborted the transaction: %v (%s)", resp.GetOutcome(), resp.GetReason())
	}
	waitFor(t, 10*time.Second, "phase 2", func() bool { return a.balance() == 90 && b.balance() == 110 })
}
