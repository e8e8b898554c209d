package coordinator_test

import (
	"context"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/participant"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// A client that goes away in the middle of phase 1 and never retries does
// not stop the decision: the run is the leader's, not the caller's, so it
// decides COMMIT and delivers it to every participant.
func TestClientDisconnectDoesNotLoseDecision(t *testing.T) {
	c := newTestCluster(t)
	a, b := c.addParticipant("a"), c.addParticipant("b")
	b.delay.Store(int64(800 * time.Millisecond)) // b votes well after the client has gone
	cli := c.client()
	ctx := ctxT(t, 40*time.Second)
	tx, err := cli.Begin(ctx, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	gone, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if out, err := cli.Commit(gone, tx, a.branch(-20), b.branch(20)); err == nil {
		t.Fatalf("the commit call ended with %v; want an error (the caller's context ended at 300 ms)", out)
	}
	if b.calls.Load() != 1 || b.state(tx) == participant.StatePrepared {
		t.Fatalf("when the client went away b's prepare must be in progress: calls %d, state %v", b.calls.Load(), b.state(tx))
	}
	waitFor(t, 20*time.Second, "COMMIT applied at both participants with no retry", func() bool {
		return a.state(tx) == participant.StateCommitted && b.state(tx) == participant.StateCommitted
	})
	info, err := cli.Status(ctx, tx)
	if err != nil || info.GetState() != arbiterpb.TxState_TX_STATE_COMMITTED {
		t.Fatalf("status %v, %v; want COMMITTED", info, err)
	}
	if a.balance() != 80 || b.balance() != 120 {
		t.Fatalf("balances a=%d b=%d, want 80 and 120", a.balance(), b.balance())
	}
}
