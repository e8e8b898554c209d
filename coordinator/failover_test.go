package coordinator_test

import (
	"context"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/internal/failpoint"
	"github.com/arbiter-tx/arbiter/participant"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// The leader dies after the decision is in the log and before phase 2: the
// new leader must deliver COMMIT to every participant.
func TestLeaderKilledAfterDecisionNewLeaderFinishes(t *testing.T) {
	c := newTestCluster(t)
	a, b := c.addParticipant("a"), c.addParticipant("b")
	old := c.waitLeader()
	hits := c.fail.arm(old.id, failpoint.AfterDecide)
	cli := c.client()
	ctx := ctxT(t, 30*time.Second)
	tx, _ := cli.Begin(ctx, 0)
	done := make(chan arbiterpb.Outcome, 1)
	go func() {
		out, _ := cli.Commit(ctx, tx, a.branch(-40), b.branch(40))
		done <- out
	}()
	waitHit(t, hits, "after-decide on the leader")
	stayPrepared(t, tx, a, b) // phase 2 is held back, even by the scan
	c.kill(old)
	if a.state(tx) != participant.StatePrepared || b.state(tx) != participant.StatePrepared {
		t.Fatalf("before failover both must be prepared, got a=%v b=%v", a.state(tx), b.state(tx))
	}
	c.waitLeader()
	if out := recv(t, done, 30*time.Second, "the client's commit"); out != arbiterpb.Outcome_OUTCOME_COMMIT {
		t.Fatalf("client learned %v after the failover, want COMMIT (the decision was in the log)", out)
	}
	waitFor(t, 15*time.Second, "the new leader's phase 2", func() bool {
		return a.state(tx) == participant.StateCommitted && b.state(tx) == participant.StateCommitted
	})
	if a.balance() != 60 || b.balance() != 140 {
		t.Fatalf("balances a=%d b=%d, want 60 and 140", a.balance(), b.balance())
	}
}

// The leader dies with every vote in and no decision: the transaction must
// abort and the prepared participants must be released.
func TestLeaderKilledBeforeDecisionAborts(t *testing.T) {
	c := newTestCluster(t)
	a, b := c.addParticipant("a"), c.addParticipant("b")
	old := c.waitLeader()
	hits := c.fail.arm(old.id, failpoint.BeforeDecide)
	cli := c.client()
	ctx := ctxT(t, 30*time.Second)
	tx, _ := cli.Begin(ctx, 2*time.Second)
	// The client goes away with the leader: nobody retries the commit (a
	// retry would let the new leader run the commit again, and commit).
	cctx, gone := context.WithCancel(ctx)
	go func() { _, _ = cli.Commit(cctx, tx, a.branch(-40), b.branch(40)) }()
	waitHit(t, hits, "before-decide on the leader")
	gone()
	c.kill(old)
	if a.prepared() != 1 || b.prepared() != 1 {
		t.Fatalf("both participants must hold prepared work, got a=%d b=%d", a.prepared(), b.prepared())
	}
	c.waitLeader()
	waitFor(t, 20*time.Second, "prepared work released by ABORT", func() bool {
		return a.state(tx) == participant.StateAborted && b.state(tx) == participant.StateAborted
	})
	if a.balance() != 100 || b.balance() != 100 {
		t.Fatalf("balances a=%d b=%d, want both 100", a.balance(), b.balance())
	}
	if a.prepared() != 0 || b.prepared() != 0 {
		t.Fatalf("after ABORT prepared work remains: a=%d b=%d", a.prepared(), b.prepared())
	}
	info, err := cli.Status(ctx, tx)
	if err != nil || info.GetState() != arbiterpb.TxState_TX_STATE_ABORTED {
		t.Fatalf("status %v, %v; want ABORTED", info, err)
	}
	// The locks on both accounts were released: a transaction on the same
	// accounts commits.
	next, err := cli.Begin(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := cli.Commit(ctx, next, a.branch(-10), b.branch(10)); err != nil || out != arbiterpb.Outcome_OUTCOME_COMMIT {
		t.Fatalf("follow-up commit on the same accounts: %v, %v; want COMMIT", out, err)
	}
	waitFor(t, 10*time.Second, "the follow-up's phase 2", func() bool {
		return a.state(next) == participant.StateCommitted && b.state(next) == participant.StateCommitted
	})
	if a.balance() != 90 || b.balance() != 110 {
		t.Fatalf("balances after the follow-up a=%d b=%d, want 90 and 110", a.balance(), b.balance())
	}
}

// A participant crashes after preparing and misses phase 2; on restart it
// applies the coordinator's decision (from phase 2 retries or by asking).
func TestParticipantCrashAfterPrepareAppliesDecision(t *testing.T) {
	c := newTestCluster(t)
	a, b := c.addParticipant("a"), c.addParticipant("b")
	leader := c.waitLeader()
	hits := c.fail.arm(leader.id, failpoint.AfterDecide)
	cli := c.client()
	ctx := ctxT(t, 30*time.Second)
	tx, _ := cli.Begin(ctx, 0)
	done := make(chan arbiterpb.Outcome, 1)
	go func() {
		out, _ := cli.Commit(ctx, tx, a.branch(-25), b.branch(25))
		done <- out
	}()
	waitHit(t, hits, "after-decide on the leader")
	stayPrepared(t, tx, a, b) // decided, phase 2 held back
	if st := b.state(tx); st != participant.StatePrepared {
		t.Fatalf("b must be prepared, not yet committed, when it crashes; state %v", st)
	}
	b.kill()
	c.fail.releaseAll()
	if out := recv(t, done, 20*time.Second, "the client's commit"); out != arbiterpb.Outcome_OUTCOME_COMMIT {
		t.Fatalf("outcome %v, want COMMIT", out)
	}
	waitFor(t, 10*time.Second, "a committed", func() bool { return a.state(tx) == participant.StateCommitted })
	b.start()
	if st := b.state(tx); st != participant.StatePrepared && st != participant.StateCommitted {
		t.Fatalf("after restart b's prepared work must have survived, state %v", st)
	}
	waitFor(t, 15*time.Second, "b applies COMMIT after its restart", func() bool {
		return b.state(tx) == participant.StateCommitted
	})
	if b.prepared() != 0 || b.calls.Load() != 1 {
		t.Fatalf("after COMMIT b holds %d prepared and ran its handler %d times; want 0 and once", b.prepared(), b.calls.Load())
	}
	if a.balance() != 75 || b.balance() != 125 {
		t.Fatalf("balances a=%d b=%d, want 75 and 125 (applied exactly once)", a.balance(), b.balance())
	}
}

// heldFor is how long stayPrepared watches: several scan intervals (200 ms
// by default), so a scan that overtook a held run would be seen.
const heldFor = 800 * time.Millisecond

// stayPrepared checks for heldFor that every participant in ps still holds
// tx prepared: phase 2 has not started behind the test's back.
func stayPrepared(t *testing.T, tx string, ps ...*testParticipant) {
	t.Helper()
	for end := time.Now().Add(heldFor); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		for _, p := range ps {
			if st := p.state(tx); st != participant.StatePrepared {
				t.Fatalf("%s left the prepared state (%v) while phase 2 was held back", p.id, st)
			}
		}
	}
}
