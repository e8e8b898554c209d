package participant_test

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/arbiter-tx/arbiter/internal/fakecoord"
	"github.com/arbiter-tx/arbiter/participant"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// wantDuplicateRefused checks that result i is INVALID_ARGUMENT naming id.
func wantDuplicateRefused(t *testing.T, i int, code int32, msg, id string) {
	t.Helper()
	if codes.Code(code) != codes.InvalidArgument || !strings.Contains(msg, id) {
		t.Errorf("item %d: %v %q, want InvalidArgument naming the duplicated tx_id %q", i, codes.Code(code), msg, id)
	}
}

// A PrepareBatch naming one tx_id twice: every item of that ID is refused
// (INVALID_ARGUMENT naming it) and nothing runs for it; other items run.
func TestPrepareBatchRefusesDuplicateIDs(t *testing.T) {
	n := startNode(t, fakecoord.StartTLS(t), t.TempDir())
	item := func(id, payload string) *arbiterpb.PrepareRequest {
		return &arbiterpb.PrepareRequest{TxId: id, Payload: []byte(payload), Term: 1,
			DeadlineUnixNanos: time.Now().Add(time.Minute).UnixNano()}
	}
	resp, err := n.pc.PrepareBatch(bg, &arbiterpb.PrepareBatchRequest{Items: []*arbiterpb.PrepareRequest{
		item("dup", "a=1"), item("ok", "c=1"), item("dup", "b=2")}})
	if err != nil {
		t.Fatal(err)
	}
	res := resp.GetResults()
	for _, i := range []int{0, 2} {
		wantDuplicateRefused(t, i, res[i].GetCode(), res[i].GetMessage(), "dup")
	}
	if res[1].GetResponse().GetVote() != arbiterpb.Vote_VOTE_YES {
		t.Errorf("item 1 (ok): %v %q", res[1].GetResponse().GetVote(), res[1].GetMessage())
	}
	if st := n.state(t, "dup"); st != participant.StateNone {
		t.Errorf("state of dup = %v, want none (nothing run)", st)
	}
}

// A DecideBatch naming one tx_id twice (COMMIT x and ABORT x): both items
// are refused (INVALID_ARGUMENT naming it) and x stays prepared.
func TestDecideBatchRefusesDuplicateIDs(t *testing.T) {
	n := startNode(t, fakecoord.StartTLS(t), t.TempDir())
	n.prepare(t, "x", "a=1")
	n.prepare(t, "y", "b=1")
	resp, err := n.pc.DecideBatch(bg, &arbiterpb.DecideBatchRequest{Term: 1, Items: []*arbiterpb.DecisionItem{
		{TxId: "x", Outcome: arbiterpb.Outcome_OUTCOME_COMMIT},
		{TxId: "y", Outcome: arbiterpb.Outcome_OUTCOME_COMMIT},
		{TxId: "x", Outcome: arbiterpb.Outcome_OUTCOME_ABORT}}})
	if err != nil {
		t.Fatal(err)
	}
	res := resp.GetResults()
	for _, i := range []int{0, 2} {
		wantDuplicateRefused(t, i, res[i].GetCode(), res[i].GetMessage(), "x")
	}
	if codes.Code(res[1].GetCode()) != codes.OK {
		t.Errorf("item 1 (y): %v %q", codes.Code(res[1].GetCode()), res[1].GetMessage())
	}
	if st := n.state(t, "x"); st != participant.StatePrepared {
		t.Errorf("state of x = %v, want prepared (unchanged)", st)
	}
}
