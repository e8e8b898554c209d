package coordinator_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/examples/bank/bankpb"
	"github.com/arbiter-tx/arbiter/internal/failpoint"
	"github.com/arbiter-tx/arbiter/internal/security"
	"github.com/arbiter-tx/arbiter/participant"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// Commit sent many times, concurrently and after the decision, and Prepare
// retried straight at a participant: the local work is applied once.
func TestRetriedRequestsApplyLocalWorkOnce(t *testing.T) {
	c := newTestCluster(t)
	a, b := c.addParticipant("a"), c.addParticipant("b")
	cli := c.client()
	ctx := ctxT(t, 30*time.Second)
	tx, _ := cli.Begin(ctx, 0)
	branches := []*arbiterpb.Branch{a.branch(-10), b.branch(10)}
	var wg sync.WaitGroup
	outs := make([]arbiterpb.Outcome, 5)
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], _ = cli.Commit(ctx, tx, branches...)
		}()
	}
	wg.Wait()
	for i, out := range outs {
		if out != arbiterpb.Outcome_OUTCOME_COMMIT {
			t.Fatalf("commit call %d: %v, want COMMIT", i, out)
		}
	}
	// A late duplicate Prepare, as an old leader's delayed message would be.
	resp, err := participantClient(t, a).Prepare(ctx, &arbiterpb.PrepareRequest{TxId: tx, Payload: branches[0].Payload, Term: 1})
	if err != nil || resp.GetVote() != arbiterpb.Vote_VOTE_YES {
		t.Fatalf("late duplicate prepare: %v, %v; want the vote already given (YES)", resp, err)
	}
	if out, err := cli.Commit(ctx, tx, branches...); err != nil || out != arbiterpb.Outcome_OUTCOME_COMMIT {
		t.Fatalf("commit after the decision: %v, %v", out, err)
	}
	waitFor(t, 10*time.Second, "phase 2", func() bool {
		return a.state(tx) == participant.StateCommitted && b.state(tx) == participant.StateCommitted
	})
	if a.calls.Load() != 1 || b.calls.Load() != 1 {
		t.Fatalf("handlers ran a=%d b=%d times, want once each", a.calls.Load(), b.calls.Load())
	}
	if a.balance() != 90 || b.balance() != 110 {
		t.Fatalf("balances a=%d b=%d, want 90 and 110", a.balance(), b.balance())
	}
}

// A phase-2 message carrying an older term than the participant has seen is
// refused and changes nothing; the current leader's message is applied.
func TestStaleTermPhase2IsIgnored(t *testing.T) {
	c := newTestCluster(t)
	a, b := c.addParticipant("a"), c.addParticipant("b")
	leader := c.waitLeader()
	hits := c.fail.arm(leader.id, failpoint.AfterDecide)
	cli := c.client()
	ctx := ctxT(t, 30*time.Second)
	tx, _ := cli.Begin(ctx, 0)
	go func() { _, _ = cli.Commit(ctx, tx, a.branch(-5), b.branch(5)) }()
	waitHit(t, hits, "after-decide on the leader")
	stayPrepared(t, tx, a, b) // decided COMMIT, both prepared, phase 2 held back
	pc := participantClient(t, a)
	term := leader.node.Term()
	// Raise a's fencing term as a newer leader would, via another tx.
	if _, err := pc.Abort(ctx, &arbiterpb.DecisionRequest{TxId: "unrelated", Term: term + 5}); err != nil {
		t.Fatal(err)
	}
	_, err := pc.Abort(ctx, &arbiterpb.DecisionRequest{TxId: tx, Term: term})
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("stale-term abort: %v, want FailedPrecondition", err)
	}
	if a.state(tx) != participant.StatePrepared {
		t.Fatalf("stale-term abort changed a's state to %v", a.state(tx))
	}
	if _, err := pc.Commit(ctx, &arbiterpb.DecisionRequest{TxId: tx, Term: term + 5}); err != nil {
		t.Fatalf("current-term commit: %v", err)
	}
	if a.state(tx) != participant.StateCommitted || a.balance() != 95 {
		t.Fatalf("a state %v balance %d, want committed at 95", a.state(tx), a.balance())
	}
	c.fail.releaseAll()
	waitFor(t, 10*time.Second, "b committed by the leader", func() bool { return b.state(tx) == participant.StateCommitted })
}

// Service-driven: the banks do the work in their own API under the tx ID
// carried in gRPC metadata, prepare and enlist; Commit has no branches.
func TestServiceDrivenTransfer(t *testing.T) {
	c := newTestCluster(t)
	a, b := c.addParticipant("a"), c.addParticipant("b")
	cli := c.client()
	ctx := ctxT(t, 30*time.Second)
	tx, _ := cli.Begin(ctx, 0)
	tctx := client.WithTxID(ctx, tx)
	if _, err := bankClient(t, a).Apply(tctx, &bankpb.ApplyRequest{Ops: []*bankpb.Op{{Account: "a-a", Delta: -20}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := bankClient(t, b).Apply(tctx, &bankpb.ApplyRequest{Ops: []*bankpb.Op{{Account: "b-a", Delta: 20}}}); err != nil {
		t.Fatal(err)
	}
	info, err := cli.Status(ctx, tx)
	if err != nil || len(info.GetParticipants()) != 2 {
		t.Fatalf("after enlisting, status %v (%v); want two participants", info, err)
	}
	if out, err := cli.Commit(ctx, tx); err != nil || out != arbiterpb.Outcome_OUTCOME_COMMIT {
		t.Fatalf("commit: %v, %v", out, err)
	}
	waitFor(t, 10*time.Second, "phase 2", func() bool {
		return a.state(tx) == participant.StateCommitted && b.state(tx) == participant.StateCommitted
	})
	if a.balance() != 80 || b.balance() != 120 {
		t.Fatalf("balances a=%d b=%d, want 80 and 120", a.balance(), b.balance())
	}
	// Without a transaction ID the service refuses clearly.
	_, err = bankClient(t, a).Apply(ctx, &bankpb.ApplyRequest{Ops: []*bankpb.Op{{Account: "a-a", Delta: 1}}})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("apply without a tx ID: %v, want InvalidArgument", err)
	}
}

// The client loses the answer to Commit (its context ends mid-call while
// the leader is held after the decision), then retries: it learns COMMIT
// and the work is applied once.
func TestUnknownOutcomeThenRetry(t *testing.T) {
	c := newTestCluster(t)
	a, b := c.addParticipant("a"), c.addParticipant("b")
	leader := c.waitLeader()
	hits := c.fail.arm(leader.id, failpoint.AfterDecide)
	cli := c.client()
	ctx := ctxT(t, 30*time.Second)
	tx, _ := cli.Begin(ctx, 0)
	short, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() {
		_, err := cli.Commit(short, tx, a.branch(-7), b.branch(7))
		errc <- err
	}()
	waitHit(t, hits, "after-decide on the leader")
	cancel()
	if err := recv(t, errc, 20*time.Second, "the cancelled commit call"); err == nil {
		t.Fatal("the first commit call should not have learned the outcome")
	}
	c.fail.releaseAll()
	out, err := cli.Commit(ctx, tx, a.branch(-7), b.branch(7))
	if err != nil || out != arbiterpb.Outcome_OUTCOME_COMMIT {
		t.Fatalf("retried commit: %v, %v", out, err)
	}
	waitFor(t, 10*time.Second, "phase 2", func() bool {
		return a.state(tx) == participant.StateCommitted && b.state(tx) == participant.StateCommitted
	})
	if a.calls.Load() != 1 || a.balance() != 93 || b.balance() != 107 {
		t.Fatalf("a ran %d times; balances a=%d b=%d, want once, 93, 107", a.calls.Load(), a.balance(), b.balance())
	}
}

func participantClient(t *testing.T, p *testParticipant) arbiterpb.ParticipantClient {
	return arbiterpb.NewParticipantClient(p.c.dialPart(p, security.RoleCoordinator, "harness"))
}

func bankClient(t *testing.T, p *testParticipant) bankpb.BankClient {
	return bankpb.NewBankClient(p.c.dialPart(p, security.RoleClient, "test"))
}
