package participant_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/arbiter-tx/arbiter/internal/fakecoord"
	"github.com/arbiter-tx/arbiter/participant"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

func TestOnePhasePrepareCommitsOnceAndRefusesTwoPhaseWork(t *testing.T) {
	coord := fakecoord.StartTLS(t)
	n := startNode(t, coord, t.TempDir())
	req := &arbiterpb.PrepareRequest{TxId: "tx1", Payload: []byte("k=1"), OnePhase: true,
		DeadlineUnixNanos: time.Now().Add(time.Minute).UnixNano(), Term: 1}
	for i := 0; i < 2; i++ { // the retry answers from the record
		resp, err := n.pc.Prepare(bg, req)
		if err != nil || resp.GetVote() != arbiterpb.Vote_VOTE_COMMITTED {
			t.Fatalf("attempt %d: %v, %v; want COMMITTED", i, resp, err)
		}
	}
	if v, _, _ := n.store.Read("k"); string(v) != "1" || n.calls.Load() != 1 || n.state(t, "tx1") != participant.StateCommitted {
		t.Fatalf("k=%q, handler calls %d, state %v", v, n.calls.Load(), n.state(t, "tx1"))
	}
	// Work prepared in two phases waits for the coordinator's decision.
	n.prepare(t, "tx2", "k=2")
	_, err := n.pc.Prepare(bg, &arbiterpb.PrepareRequest{TxId: "tx2", Payload: []byte("k=2"), OnePhase: true, Term: 1})
	wantCode(t, err, codes.FailedPrecondition)
	if n.state(t, "tx2") != participant.StatePrepared {
		t.Fatal("a one-phase request changed two-phase work")
	}
	// A failing handler in one phase votes no and leaves an abort tombstone.
	resp, err := n.pc.Prepare(bg, &arbiterpb.PrepareRequest{TxId: "tx3", Payload: []byte("bad"), OnePhase: true, Term: 1})
	if err != nil || resp.GetVote() != arbiterpb.Vote_VOTE_NO || n.state(t, "tx3") != participant.StateAborted {
		t.Fatalf("failing one-phase: %v, %v, state %v", resp, err, n.state(t, "tx3"))
	}
}
