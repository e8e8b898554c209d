package coordinator_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/internal/security"
	"github.com/arbiter-tx/arbiter/participant"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestCommitAppliesAtEveryParticipant(t *testing.T) {
	c := newTestCluster(t)
	a, b := c.addParticipant("a"), c.addParticipant("b")
	cli := c.client()
	ctx := ctxT(t, 20*time.Second)
	tx, err := cli.Begin(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	out, err := cli.Commit(ctx, tx, a.branch(-30), b.branch(30))
	if err != nil || out != arbiterpb.Outcome_OUTCOME_COMMIT {
		t.Fatalf("commit: outcome %v, err %v", out, err)
	}
	waitFor(t, 10*time.Second, "phase 2 at both participants", func() bool {
		return a.state(tx) == participant.StateCommitted && b.state(tx) == participant.StateCommitted
	})
	if a.balance() != 70 || b.balance() != 130 {
		t.Fatalf("balances a=%d b=%d, want 70 and 130", a.balance(), b.balance())
	}
	waitFor(t, 10*time.Second, "the transaction to be finished", func() bool {
		info, err := cli.Status(ctx, tx)
		return err == nil && info.GetFinished()
	})
}

func TestNoVoteAborts(t *testing.T) {
	c := newTestCluster(t)
	a, b := c.addParticipant("a"), c.addParticipant("b")
	cli := c.client()
	ctx := ctxT(t, 20*time.Second)
	tx, _ := cli.Begin(ctx, 0)
	// b cannot pay 500 out of 100: its handler refuses, it votes no.
	out, err := cli.Commit(ctx, tx, a.branch(500), b.branch(-500))
	if err != nil || out != arbiterpb.Outcome_OUTCOME_ABORT {
		t.Fatalf("commit: outcome %v, err %v; want ABORT", out, err)
	}
	waitFor(t, 10*time.Second, "abort applied and locks released", func() bool {
		return a.state(tx) == participant.StateAborted && a.prepared() == 0 && b.prepared() == 0
	})
	if a.balance() != 100 || b.balance() != 100 {
		t.Fatalf("balances a=%d b=%d, want both unchanged at 100", a.balance(), b.balance())
	}
}

func TestSilentParticipantAbortsAtDeadline(t *testing.T) {
	c := newTestCluster(t)
	a, b := c.addParticipant("a"), c.addParticipant("b")
	b.delay.Store(int64(time.Minute)) // b never answers within the deadline
	cli := c.client()
	ctx := ctxT(t, 30*time.Second)
	tx, _ := cli.Begin(ctx, 1500*time.Millisecond)
	start := time.Now()
	out, err := cli.Commit(ctx, tx, a.branch(-10), b.branch(10))
	if err != nil || out != arbiterpb.Outcome_OUTCOME_ABORT {
		t.Fatalf("commit: outcome %v, err %v; want ABORT", out, err)
	}
	if waited := time.Since(start); waited > 10*time.Second {
		t.Fatalf("abort took %v; the deadline was 1.5s", waited)
	}
	waitFor(t, 10*time.Second, "a released", func() bool { return a.prepared() == 0 })
	if a.balance() != 100 {
		t.Fatalf("a=%d, want 100", a.balance())
	}
	// The silent participant never prepared and changed nothing.
	if st := b.state(tx); st == participant.StatePrepared || st == participant.StateCommitted {
		t.Fatalf("silent b is %v, want nothing prepared or committed", st)
	}
	if b.prepared() != 0 || b.balance() != 100 {
		t.Fatalf("silent b holds %d prepared, balance %d; want 0 and 100", b.prepared(), b.balance())
	}
	info, err := cli.Status(ctx, tx)
	if err != nil || info.GetState() != arbiterpb.TxState_TX_STATE_ABORTED {
		t.Fatalf("status %v, %v; want ABORTED", info, err)
	}
}

// Every client call works through a node that does not lead: the calls
// that need the leader (Begin, Commit, Abort, Status of an undecided
// transaction) are forwarded, Status of a decided one is answered locally.
func TestFollowerForwardsToLeader(t *testing.T) {
	c := newTestCluster(t)
	a, b := c.addParticipant("a"), c.addParticipant("b")
	f := c.follower()
	term := f.node.Term()
	assertStillFollower(t, f, term)
	cli := c.client(c.members[f.id]) // only the follower's address
	ctx := ctxT(t, 20*time.Second)
	tx, err := cli.Begin(ctx, 0)
	if err != nil {
		t.Fatalf("begin through follower %s: %v", f.id, err)
	}
	out, err := cli.Commit(ctx, tx, a.branch(-1), b.branch(1))
	if err != nil || out != arbiterpb.Outcome_OUTCOME_COMMIT {
		t.Fatalf("commit through follower: outcome %v, err %v", out, err)
	}
	info, err := cli.Status(ctx, tx)
	if err != nil || info.GetState() != arbiterpb.TxState_TX_STATE_COMMITTED {
		t.Fatalf("status through follower: %v, %v", info, err)
	}
	other, err := cli.Begin(ctx, 0)
	if err != nil {
		t.Fatalf("second begin through follower: %v", err)
	}
	if info, err := cli.Status(ctx, other); err != nil || info.GetState() != arbiterpb.TxState_TX_STATE_ACTIVE {
		t.Fatalf("status of an undecided transaction through follower: %v, %v; want ACTIVE", info, err)
	}
	if out, err := cli.Abort(ctx, other); err != nil || out != arbiterpb.Outcome_OUTCOME_ABORT {
		t.Fatalf("abort through follower: %v, %v; want ABORT", out, err)
	}
	if info, err := cli.Status(ctx, other); err != nil || info.GetState() != arbiterpb.TxState_TX_STATE_ABORTED {
		t.Fatalf("status after abort through follower: %v, %v; want ABORTED", info, err)
	}
	// A follower that may not forward (the call was forwarded once already)
	// answers UNAVAILABLE with a detail naming the leader's address, which
	// the client SDK follows.
	raw := arbiterpb.NewCoordinatorClient(c.dial(c.members[f.id], security.RoleClient, "test"))
	_, err = raw.Begin(metadata.AppendToOutgoingContext(ctx, "arbiter-forwarded", "1"), &arbiterpb.BeginRequest{})
	leader := c.waitLeader()
	if got := client.LeaderHint(err); status.Code(err) != codes.Unavailable || got != c.members[leader.id] {
		t.Fatalf("a follower that cannot forward answered %v; the client SDK reads leader %q from it, want %q", err, got, c.members[leader.id])
	}
	assertStillFollower(t, f, term)
}

// assertStillFollower fails unless f does not lead and no election has
// happened since term: f was a follower for every call made meanwhile.
func assertStillFollower(t *testing.T, f *testNode, term uint64) {
	t.Helper()
	if f.node.IsLeader() || f.node.Term() != term {
		t.Fatalf("node %s leads (%v) or the term moved from %d to %d: the calls may not have gone through a follower",
			f.id, f.node.IsLeader(), term, f.node.Term())
	}
}
