package mysql_test

import (
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/internal/fakecoord"
	"github.com/arbiter-tx/arbiter/participant"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// A one-phase XA COMMIT that the server applied but whose answer was lost
// with the connection is a commit, not a heuristic outcome: the adapter
// settles it from another connection (the tombstone insert finds the
// marker) and the agent votes COMMITTED, with no heuristic alarm.
func TestOnePhaseCommitLostAnswerIsNotHeuristic(t *testing.T) {
	srv := sharedServer(t)
	e := newEnv(t, srv)
	proxy, dsn := startCutProxy(t, srv.DSN(e.dbName))
	e.db = openDB(t, dsn)
	n := startNode(t, fakecoord.Start(t).Addr, e)
	proxy.armedAnswer.Store(true)
	resp, err := n.pc.Prepare(bg, &arbiterpb.PrepareRequest{TxId: "one", Payload: []byte("a=+1"), OnePhase: true,
		DeadlineUnixNanos: time.Now().Add(time.Minute).UnixNano(), Term: 1})
	if proxy.cuts.Load() != 1 {
		t.Fatalf("the proxy cut %d connections after a one-phase XA COMMIT, want 1", proxy.cuts.Load())
	}
	if err != nil || resp.GetVote() != arbiterpb.Vote_VOTE_COMMITTED {
		t.Fatalf("one-phase Prepare = %v (%s), %v; want COMMITTED (the server committed)", resp.GetVote(), resp.GetReason(), err)
	}
	if a := e.value(t, "a"); a != 1 {
		t.Fatalf("a = %d, want 1", a)
	}
	e.store = n.store
	e.wantState(t, "one", participant.StateCommitted)
	if h := n.store.HeuristicOutcomes(); h != 0 {
		t.Fatalf("HeuristicOutcomes = %d, want 0 (a false alarm)", h)
	}
}

// A one-phase XA COMMIT that never reached the server did not happen: the
// server rolls the branch back when the session ends, the adapter records
// the abort (its insert waits for that) and the agent votes no.
func TestOnePhaseCommitLostRequestVotesNo(t *testing.T) {
	srv := sharedServer(t)
	e := newEnv(t, srv)
	proxy, dsn := startCutProxy(t, srv.DSN(e.dbName))
	e.db = openDB(t, dsn)
	n := startNode(t, fakecoord.Start(t).Addr, e)
	proxy.armedRequest.Store(true)
	resp, err := n.pc.Prepare(bg, &arbiterpb.PrepareRequest{TxId: "one", Payload: []byte("a=+1"), OnePhase: true,
		DeadlineUnixNanos: time.Now().Add(time.Minute).UnixNano(), Term: 1})
	if proxy.cuts.Load() != 1 {
		t.Fatalf("the proxy cut %d connections before a one-phase XA COMMIT, want 1", proxy.cuts.Load())
	}
	if err != nil || resp.GetVote() != arbiterpb.Vote_VOTE_NO {
		t.Fatalf("one-phase Prepare = %v, %v; want a no vote (nothing committed)", resp.GetVote(), err)
	}
	if a := e.value(t, "a"); a != -1 {
		t.Fatalf("a = %d, want none", a)
	}
	e.store = n.store
	e.wantState(t, "one", participant.StateAborted)
	if h := n.store.HeuristicOutcomes(); h != 0 {
		t.Fatalf("HeuristicOutcomes = %d, want 0", h)
	}
}
