package postgres_test

import (
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/internal/fakecoord"
	"github.com/arbiter-tx/arbiter/participant"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// The recovery timer, with no restart: a prepared transaction's deadline
// passes without phase 2; the coordinator first answers Resolve with
// UNAVAILABLE (the work stays prepared and the agent keeps asking, tick
// after tick), then with COMMIT; the periodic pass applies it within a
// bounded time.
func TestRecoveryTimerResolvesAfterDeadline(t *testing.T) {
	const bound = 3 * time.Second // ResolveInterval is 50ms; coordinator calls retry for 350ms at most
	srv := sharedServer(t)
	e := newEnv(t, srv.DSN)
	coord := fakecoord.Start(t) // answers Resolve UNAVAILABLE until SetResolve
	n := startNode(t, coord.Addr, e, srv.DSN)
	deadline := time.Now().Add(300 * time.Millisecond)
	resp, err := n.pc.Prepare(bg, &arbiterpb.PrepareRequest{TxId: "late", Payload: []byte("a=+3"),
		DeadlineUnixNanos: deadline.UnixNano(), Term: 1})
	must(t, err)
	if resp.GetVote() != arbiterpb.Vote_VOTE_YES {
		t.Fatalf("vote = %v (%s)", resp.GetVote(), resp.GetReason())
	}

	eventually(t, "three Resolve attempts after the deadline", func() bool { return coord.ResolveCount("late") >= 3 })
	if time.Now().Before(deadline) {
		t.Fatal("resolved three times before the deadline")
	}
	e.wantState(t, "late", participant.StatePrepared) // UNAVAILABLE decides nothing
	if v := e.value(t, "a"); v != -1 {
		t.Fatalf("a = %d while the coordinator is unavailable, want absent", v)
	}

	coord.SetResolve(arbiterpb.Outcome_OUTCOME_COMMIT, 2)
	start := time.Now()
	for e.value(t, "a") != 3 {
		if time.Since(start) > bound {
			t.Fatalf("the recovery timer did not apply COMMIT within %v", bound)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("applied %v after the coordinator answered COMMIT", time.Since(start))
	e.wantState(t, "late", participant.StateCommitted)
	if p, err := n.store.Prepared(bg); err != nil || len(p) != 0 {
		t.Fatalf("Prepared = %v, %v; want none", p, err)
	}
}
