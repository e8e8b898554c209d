package postgres_test

import (
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/internal/fakecoord"
	"github.com/arbiter-tx/arbiter/participant"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// A one-phase commit whose COMMIT the server applied but whose answer was
// lost with the connection is a commit, not a heuristic outcome: the agent
// checks the marker row and votes COMMITTED, with no heuristic alarm.
func TestOnePhaseCommitLostAnswerIsNotHeuristic(t *testing.T) {
	srv := sharedServer(t)
	e := newEnv(t, srv.DSN)
	proxy, dsn := startCutProxy(t, srv.DSN)
	n := startNode(t, fakecoord.Start(t).Addr, e, dsn)
	proxy.armed.Store(true)
	resp, err := n.pc.Prepare(bg, &arbiterpb.PrepareRequest{TxId: "one", Payload: []byte("a=+1"), OnePhase: true,
		DeadlineUnixNanos: time.Now().Add(time.Minute).UnixNano(), Term: 1})
	if proxy.cuts.Load() != 1 {
		t.Fatalf("the proxy cut %d connections after a COMMIT, want 1", proxy.cuts.Load())
	}
	if err != nil || resp.GetVote() != arbiterpb.Vote_VOTE_COMMITTED {
		t.Fatalf("one-phase Prepare = %v, %v; want COMMITTED (the server committed)", resp.GetVote(), err)
	}
	if a := e.value(t, "a"); a != 1 {
		t.Fatalf("a = %d, want 1", a)
	}
	e.wantState(t, "one", participant.StateCommitted)
	if h := n.store.HeuristicOutcomes(); h != 0 {
		t.Fatalf("HeuristicOutcomes = %d, want 0 (a false alarm)", h)
	}
}

// A one-phase commit whose COMMIT never reached the server did not happen:
// the agent records the abort (waiting for the server to end the local
// transaction) and votes no, with no heuristic alarm either.
func TestOnePhaseCommitLostRequestVotesNo(t *testing.T) {
	srv := sharedServer(t)
	e := newEnv(t, srv.DSN)
	proxy, dsn := startCutProxy(t, srv.DSN)
	n := startNode(t, fakecoord.Start(t).Addr, e, dsn)
	proxy.armedRequest.Store(true)
	resp, err := n.pc.Prepare(bg, &arbiterpb.PrepareRequest{TxId: "one", Payload: []byte("a=+1"), OnePhase: true,
		DeadlineUnixNanos: time.Now().Add(time.Minute).UnixNano(), Term: 1})
	if proxy.cuts.Load() != 1 {
		t.Fatalf("the proxy cut %d connections before a COMMIT, want 1", proxy.cuts.Load())
	}
	if err != nil || resp.GetVote() != arbiterpb.Vote_VOTE_NO {
		t.Fatalf("one-phase Prepare = %v, %v; want a no vote (nothing committed)", resp.GetVote(), err)
	}
	if a := e.value(t, "a"); a != -1 {
		t.Fatalf("a = %d, want none", a)
	}
	e.wantState(t, "one", participant.StateAborted)
	if h := n.store.HeuristicOutcomes(); h != 0 {
		t.Fatalf("HeuristicOutcomes = %d, want 0", h)
	}
}
