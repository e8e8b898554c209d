package coordinator_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/examples/bank"
	"github.com/arbiter-tx/arbiter/examples/bank/bankpb"
	"github.com/arbiter-tx/arbiter/internal/failpoint"
	"github.com/arbiter-tx/arbiter/internal/security"
	"github.com/arbiter-tx/arbiter/participant"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// The shorter paths: parallel commit, one-shot and one-phase commits,
// read-only votes. Each keeps the invariants of the standard path.

func TestParallelCommitAppliesEverywhere(t *testing.T) {
	c := newTestCluster(t)
	a, b := c.addParticipant("a"), c.addParticipant("b")
	cli := c.client()
	ctx := ctxT(t, 20*time.Second)
	tx, out, err := cli.Run(ctx, client.RunOptions{Mode: client.Parallel}, a.branch(-30), b.branch(30))
	if err != nil || out != arbiterpb.Outcome_OUTCOME_COMMIT {
		t.Fatalf("parallel commit: outcome %v, err %v", out, err)
	}
	waitFor(t, 10*time.Second, "phase 2 at both participants", func() bool {
		return a.state(tx) == participant.StateCommitted && b.state(tx) == participant.StateCommitted
	})
	if a.balance() != 70 || b.balance() != 130 {
		t.Fatalf("balances a=%d b=%d, want 70 and 130", a.balance(), b.balance())
	}
	waitFor(t, 10*time.Second, "the decision recorded and finished", func() bool {
		info, err := cli.Status(ctx, tx)
		return err == nil && info.GetState() == arbiterpb.TxState_TX_STATE_COMMITTED && info.GetFinished()
	})
}

func TestParallelCommitNoVoteAborts(t *testing.T) {
	c := newTestCluster(t)
	a, b := c.addParticipant("a"), c.addParticipant("b")
	cli := c.client()
	ctx := ctxT(t, 20*time.Second)
	tx, out, err := cli.Run(ctx, client.RunOptions{Mode: client.Parallel}, a.branch(500), b.branch(-500))
	if err != nil || out != arbiterpb.Outcome_OUTCOME_ABORT {
		t.Fatalf("parallel commit: outcome %v, err %v; want ABORT", out, err)
	}
	waitFor(t, 10*time.Second, "abort applied at both", func() bool {
		return a.state(tx) == participant.StateAborted && b.state(tx) == participant.StateAborted
	})
	if a.balance() != 100 || b.balance() != 100 {
		t.Fatalf("balances a=%d b=%d, want both unchanged", a.balance(), b.balance())
	}
}

// The client hears COMMIT (STAGING and both yes votes durable) and the
// leader dies before any DECIDE: the next leader must recover the
// transaction by asking the participants, and commit it.
func TestParallelCommitAnsweredThenLeaderKilledNewLeaderCommits(t *testing.T) {
	c := newTestCluster(t)
	a, b := c.addParticipant("a"), c.addParticipant("b")
	old := c.waitLeader()
	hits := c.fail.arm(old.id, failpoint.BeforeDecide)
	cli := c.client()
	ctx := ctxT(t, 40*time.Second)
	type result struct {
		tx  string
		out arbiterpb.Outcome
		err error
	}
	done := make(chan result, 1)
	go func() {
		tx, out, err := cli.Run(ctx, client.RunOptions{Mode: client.Parallel, Timeout: 2 * time.Second}, a.branch(-25), b.branch(25))
		done <- result{tx, out, err}
	}()
	var tx string
	select {
	case tx = <-hits:
	case <-ctx.Done():
		t.Fatal("the leader never reached before-decide")
	}
	r := recv(t, done, 20*time.Second, "the client's parallel commit")
	if r.err != nil || r.out != arbiterpb.Outcome_OUTCOME_COMMIT || r.tx != tx {
		t.Fatalf("client got %v, %v for %s; want COMMIT for %s before any DECIDE", r.out, r.err, r.tx, tx)
	}
	if rec, ok := old.node.FSM().Get(tx); !ok || rec.GetState() != arbiterpb.TxState_TX_STATE_STAGING {
		t.Fatalf("record before the crash: %v (found %v), want STAGING", rec, ok)
	}
	c.kill(old)
	c.waitLeader()
	waitFor(t, 20*time.Second, "the new leader's recovery and phase 2", func() bool {
		return a.state(tx) == participant.StateCommitted && b.state(tx) == participant.StateCommitted
	})
	if a.balance() != 75 || b.balance() != 125 {
		t.Fatalf("balances a=%d b=%d, want 75 and 125", a.balance(), b.balance())
	}
	info, err := c.client().Status(ctx, tx)
	if err != nil || info.GetState() != arbiterpb.TxState_TX_STATE_COMMITTED {
		t.Fatalf("status after recovery: %v, %v; want COMMITTED", info, err)
	}
}

// A participant that cannot answer before the deadline leaves a STAGING
// transaction that recovery settles: the participant refuses (it never
// prepared), so the outcome is ABORT everywhere and a late prepare fails.
func TestParallelCommitSilentParticipantRecoveredToAbort(t *testing.T) {
	c := newTestCluster(t)
	a, b := c.addParticipant("a"), c.addParticipant("b")
	a.delay.Store(int64(3 * time.Second)) // slower than the 1 s deadline
	cli := c.client()
	ctx := ctxT(t, 30*time.Second)
	tx, out, err := cli.Run(ctx, client.RunOptions{Mode: client.Parallel, Timeout: time.Second}, a.branch(-10), b.branch(10))
	if err != nil || out != arbiterpb.Outcome_OUTCOME_ABORT {
		t.Fatalf("outcome %v, err %v; want ABORT", out, err)
	}
	a.delay.Store(0)
	waitFor(t, 10*time.Second, "abort applied at both", func() bool {
		return a.state(tx) == participant.StateAborted && b.state(tx) == participant.StateAborted
	})
	resp, err := participantClient(t, a).Prepare(ctx, &arbiterpb.PrepareRequest{TxId: tx, Payload: a.branch(-10).GetPayload(), Term: 1 << 40})
	if err != nil || resp.GetVote() != arbiterpb.Vote_VOTE_NO {
		t.Fatalf("late prepare after the refusal: %v, %v; want a no vote", resp, err)
	}
	if a.balance() != 100 || b.balance() != 100 {
		t.Fatalf("balances a=%d b=%d, want both unchanged", a.balance(), b.balance())
	}
}

// A one-shot transaction with one branch commits at its participant alone:
// the participant's COMMITTED vote is the answer. The transaction is staged
// (a STAGING record naming the participant) before the participant runs
// its handler, so the log knows the ID before anything can commit; after
// the answer the record is finished as COMMITTED with no DECIDE and no
// phase 2. A retry with the same ID returns the outcome without running
// the handler again.
func TestOnePhaseCommitIsStagedBeforeTheParticipantCommits(t *testing.T) {
	c := newTestCluster(t)
	a := c.addParticipant("a")
	leader := c.waitLeader()
	cli := c.client()
	ctx := ctxT(t, 20*time.Second)
	a.delay.Store(int64(400 * time.Millisecond))
	tx := client.NewTxID()
	ran := make(chan error, 1)
	go func() {
		_, out, err := cli.Run(ctx, client.RunOptions{TxID: tx}, a.branch(5))
		if err == nil && out != arbiterpb.Outcome_OUTCOME_COMMIT {
			err = fmt.Errorf("outcome %v", out)
		}
		ran <- err
	}()
	waitFor(t, 5*time.Second, "a STAGING record over a while a runs its handler", func() bool {
		rec, ok := leader.node.FSM().Get(tx)
		return ok && rec.GetState() == arbiterpb.TxState_TX_STATE_STAGING && slices.Equal(rec.GetParticipants(), []string{"a"}) &&
			a.calls.Load() == 1 && a.state(tx) == participant.StateNone
	})
	if err := recv(t, ran, 10*time.Second, "the one-phase answer"); err != nil {
		t.Fatalf("one-phase commit: %v", err)
	}
	a.delay.Store(0)
	waitFor(t, 10*time.Second, "the one-phase COMMIT recorded over a and finished", func() bool {
		rec, ok := leader.node.FSM().Get(tx)
		return ok && rec.GetState() == arbiterpb.TxState_TX_STATE_COMMITTED && rec.GetFinished() &&
			slices.Equal(rec.GetParticipants(), []string{"a"})
	})
	if a.state(tx) != participant.StateCommitted || a.balance() < 105 {
		t.Fatalf("participant: state %v balance %d, want committed and at least 105", a.state(tx), a.balance())
	}
	base := a.balance()

	calls := a.calls.Load()
	var out arbiterpb.Outcome
	var err error
	_, out, err = cli.Run(ctx, client.RunOptions{TxID: tx}, a.branch(5))
	if err != nil || out != arbiterpb.Outcome_OUTCOME_COMMIT || a.calls.Load() != calls || a.balance() != base {
		t.Fatalf("retry: %v, %v, handler calls %d -> %d, balance %d; want COMMIT, no new call, %d",
			out, err, calls, a.calls.Load(), a.balance(), base)
	}
	// A one-phase branch the handler refuses aborts and changes nothing.
	tx2, out, err := cli.Run(ctx, client.RunOptions{}, a.branch(-1000))
	if err != nil || out != arbiterpb.Outcome_OUTCOME_ABORT || a.state(tx2) != participant.StateAborted || a.balance() != base {
		t.Fatalf("refused one-phase: %v, %v, state %v, balance %d", out, err, a.state(tx2), a.balance())
	}
}

// A one-shot standard transaction writes no BEGIN: its DECIDE creates the
// record, with the client's identity.
func TestOneShotStandardCommitCreatesRecordAtDecision(t *testing.T) {
	c := newTestCluster(t)
	a, b := c.addParticipant("a"), c.addParticipant("b")
	cli := c.clientAs("alice")
	ctx := ctxT(t, 20*time.Second)
	tx, out, err := cli.Run(ctx, client.RunOptions{}, a.branch(-1), b.branch(1))
	if err != nil || out != arbiterpb.Outcome_OUTCOME_COMMIT {
		t.Fatalf("one-shot: outcome %v, err %v", out, err)
	}
	info, err := cli.Status(ctx, tx)
	if err != nil || info.GetState() != arbiterpb.TxState_TX_STATE_COMMITTED || info.GetClientId() != "alice" ||
		!slices.Equal(info.GetParticipants(), []string{"a", "b"}) {
		t.Fatalf("record: %v, %v", info, err)
	}
	if _, err := c.clientAs("mallory").Abort(ctx, tx); err == nil {
		t.Fatal("another client aborted alice's one-shot transaction")
	}
}

// A branch that only reads votes read-only: it holds no prepared state, is
// left out of the decision and of phase 2, and the writer still commits.
func TestReadOnlyVoteSkipsPhase2(t *testing.T) {
	c := newTestCluster(t)
	a, b := c.addParticipant("a"), c.addParticipant("b")
	cli := c.client()
	ctx := ctxT(t, 20*time.Second)
	tx, err := cli.Begin(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	read := &arbiterpb.Branch{ParticipantId: "a", Payload: bank.EncodePayload(nil, []string{"a-a"})}
	out, err := cli.Commit(ctx, tx, read, b.branch(7))
	if err != nil || out != arbiterpb.Outcome_OUTCOME_COMMIT {
		t.Fatalf("commit: %v, %v", out, err)
	}
	info, err := cli.Status(ctx, tx)
	if err != nil || !slices.Equal(info.GetParticipants(), []string{"b"}) {
		t.Fatalf("decision participants: %v, %v; want only the writer b", info.GetParticipants(), err)
	}
	waitFor(t, 10*time.Second, "b committed", func() bool { return b.state(tx) == participant.StateCommitted })
	if a.state(tx) != participant.StateNone || a.prepared() != 0 || a.balance() != 100 || b.balance() != 107 {
		t.Fatalf("a: state %v prepared %d balance %d; b balance %d", a.state(tx), a.prepared(), a.balance(), b.balance())
	}
}

// A participant asking about a transaction with no record and no run gets
// ABORT, and the abort is written: a one-shot Commit retried later with
// that ID can no longer commit.
func TestPresumedAbortIsRecordedSoALateOneShotCannotCommit(t *testing.T) {
	c := newTestCluster(t)
	a, b := c.addParticipant("a"), c.addParticipant("b")
	leader := c.waitLeader()
	conn := c.dial(c.members[leader.id], security.RoleParticipant, "a")
	ctx := ctxT(t, 20*time.Second)
	tx := client.NewTxID()
	resp, err := arbiterpb.NewCoordinatorClient(conn).Resolve(ctx, &arbiterpb.ResolveRequest{TxId: tx, ParticipantId: "a"})
	if err != nil || resp.GetOutcome() != arbiterpb.Outcome_OUTCOME_ABORT {
		t.Fatalf("resolve of an unknown ID: %v, %v; want ABORT", resp, err)
	}
	_, out, err := c.client().Run(ctx, client.RunOptions{TxID: tx}, a.branch(-3), b.branch(3))
	if err != nil || out != arbiterpb.Outcome_OUTCOME_ABORT {
		t.Fatalf("late one-shot with the aborted ID: %v, %v; want ABORT", out, err)
	}
	waitFor(t, 10*time.Second, "nothing prepared", func() bool { return a.prepared() == 0 && b.prepared() == 0 })
	if a.balance() != 100 || b.balance() != 100 {
		t.Fatalf("balances a=%d b=%d, want both unchanged", a.balance(), b.balance())
	}
}

// Prepares to one participant that queue while earlier ones are in flight
// go out together in PrepareBatch calls; every transaction still commits.
func TestPreparesAreBatchedUnderLoad(t *testing.T) {
	c := newTestCluster(t)
	a, b := c.addParticipant("a"), c.addParticipant("b")
	a.delay.Store(int64(200 * time.Millisecond)) // keeps a's senders busy while more queue
	cli := c.client()
	ctx := ctxT(t, 30*time.Second)
	const n = 16
	outs := make(chan error, n)
	credit := func(p *testParticipant, i int) *arbiterpb.Branch { // a fresh account each: no lock waits
		return &arbiterpb.Branch{ParticipantId: p.id, Payload: bank.EncodePayload([]*bankpb.Op{{Account: fmt.Sprintf("%s-x%d", p.id, i), Delta: 1}}, nil)}
	}
	for i := range n {
		go func() {
			_, out, err := cli.Run(ctx, client.RunOptions{}, credit(a, i), credit(b, i))
			if err == nil && out != arbiterpb.Outcome_OUTCOME_COMMIT {
				err = fmt.Errorf("outcome %v", out)
			}
			outs <- err
		}()
	}
	for range n {
		if err := <-outs; err != nil {
			t.Fatal(err)
		}
	}
	if a.batches.Load() == 0 {
		t.Fatal("no PrepareBatch call reached a: 16 concurrent prepares went one by one")
	}
	waitFor(t, 10*time.Second, "phase 2 everywhere", func() bool {
		for i := range n {
			for _, p := range []*testParticipant{a, b} {
				if v, ok, _ := p.store.Read(fmt.Sprintf("%s-x%d", p.id, i)); !ok || string(v) != "1" {
					return false
				}
			}
		}
		return true
	})
}
