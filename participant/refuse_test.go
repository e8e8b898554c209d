package participant_test

import (
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/arbiter-tx/arbiter/internal/fakecoord"
	"github.com/arbiter-tx/arbiter/participant"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

func TestRefuseAnswersPreparedOrDurablyRefuses(t *testing.T) {
	coord := fakecoord.StartTLS(t)
	dir := t.TempDir()
	n := startNode(t, coord, dir)
	if v := n.prepare(t, "tx-prepared", "k=v").GetVote(); v != arbiterpb.Vote_VOTE_YES {
		t.Fatalf("vote %v", v)
	}
	resp, err := n.pc.Refuse(bg, &arbiterpb.RefuseRequest{TxId: "tx-prepared", Term: 1})
	if err != nil || resp.GetState() != arbiterpb.LocalState_LOCAL_STATE_PREPARED {
		t.Fatalf("Refuse of a prepared transaction: %v, %v; want PREPARED", resp, err)
	}
	if n.state(t, "tx-prepared") != participant.StatePrepared {
		t.Fatal("Refuse changed a prepared transaction")
	}
	resp, err = n.pc.Refuse(bg, &arbiterpb.RefuseRequest{TxId: "tx-never", Term: 1})
	if err != nil || resp.GetState() != arbiterpb.LocalState_LOCAL_STATE_REFUSED {
		t.Fatalf("Refuse of an unknown transaction: %v, %v; want REFUSED", resp, err)
	}
	// The refusal is durable: after a crash a late Prepare is still refused
	// and its handler never runs.
	n.crash()
	n = startNode(t, coord, dir)
	if v := n.prepare(t, "tx-never", "k=late").GetVote(); v != arbiterpb.Vote_VOTE_NO || n.calls.Load() != 0 {
		t.Fatalf("late prepare after a refusal: vote %v, handler calls %d", v, n.calls.Load())
	}
	_, err = n.pc.Refuse(bg, &arbiterpb.RefuseRequest{})
	wantCode(t, err, codes.InvalidArgument)
}
