package participant_test

import (
	"testing"
	"time"

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

func TestPrepareBatchAnswersEachItem(t *testing.T) {
	coord := fakecoord.StartTLS(t)
	n := startNode(t, coord, t.TempDir())
	n.prepare(t, "done", "k0=0")
	deadline := time.Now().Add(time.Minute).UnixNano()
	resp, err := n.pc.PrepareBatch(bg, &arbiterpb.PrepareBatchRequest{Items: []*arbiterpb.PrepareRequest{
		{TxId: "b1", Payload: []byte("k1=1"), DeadlineUnixNanos: deadline, Term: 1},
		{TxId: "b2", Payload: []byte("bad"), DeadlineUnixNanos: deadline, Term: 1},
		{TxId: "", Payload: []byte("k3=3"), Term: 1},
		{TxId: "b4", Payload: []byte("k4=4"), OnePhase: true, Term: 1},
		{TxId: "done", Payload: []byte("k0=again"), Term: 1},
	}})
	if err != nil || len(resp.GetResults()) != 5 {
		t.Fatalf("PrepareBatch: %v, %v", resp, err)
	}
	r := resp.GetResults()
	if r[0].GetResponse().GetVote() != arbiterpb.Vote_VOTE_YES || n.state(t, "b1") != participant.StatePrepared {
		t.Errorf("item 0: %v, state %v", r[0], n.state(t, "b1"))
	}
	if r[1].GetResponse().GetVote() != arbiterpb.Vote_VOTE_NO || n.state(t, "b2") != participant.StateAborted {
		t.Errorf("item 1: %v", r[1])
	}
	if codes.Code(r[2].GetCode()) != codes.InvalidArgument || r[2].GetResponse() != nil {
		t.Errorf("item 2 (no tx_id): %v", r[2])
	}
	if r[3].GetResponse().GetVote() != arbiterpb.Vote_VOTE_COMMITTED || n.state(t, "b4") != participant.StateCommitted {
		t.Errorf("item 3 (one phase): %v", r[3])
	}
	if r[4].GetResponse().GetVote() != arbiterpb.Vote_VOTE_YES || n.calls.Load() != 4 { // "done" is not run again
		t.Errorf("item 4 (retried): %v, handler calls %d", r[4], n.calls.Load())
	}
	_, err = n.pc.PrepareBatch(bg, &arbiterpb.PrepareBatchRequest{})
	wantCode(t, err, codes.InvalidArgument)
}
