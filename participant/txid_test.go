package participant_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/internal/fakecoord"
	"github.com/arbiter-tx/arbiter/participant/embedded"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// Transaction IDs that no database can hold (NUL and other control
// characters, longer than the coordinator's 128 bytes) are refused at the
// agent's edge with INVALID_ARGUMENT, before anything is read or written:
// PostgreSQL refuses NUL (SQLSTATE 22021), and a Prepare answered INTERNAL
// until the deadline made the ABORT retry forever.
func TestBadTxIDsRefusedAtTheEdge(t *testing.T) {
	n := startNode(t, fakecoord.StartTLS(t), t.TempDir())
	for _, id := range []string{"nul\x00id", "tab\tid", "del\x7fid", "c1\u0085id", strings.Repeat("x", 129)} {
		code := func(err error) codes.Code { return status.Code(err) }
		got := map[string]codes.Code{}
		_, err := n.pc.Prepare(bg, &arbiterpb.PrepareRequest{TxId: id, Payload: []byte("a=1"), Term: 1,
			DeadlineUnixNanos: time.Now().Add(time.Minute).UnixNano()})
		got["Prepare"] = code(err)
		_, err = n.pc.Commit(bg, &arbiterpb.DecisionRequest{TxId: id, Term: 1})
		got["Commit"] = code(err)
		_, err = n.pc.Abort(bg, &arbiterpb.DecisionRequest{TxId: id, Term: 1})
		got["Abort"] = code(err)
		_, err = n.pc.Refuse(bg, &arbiterpb.RefuseRequest{TxId: id, Term: 1})
		got["Refuse"] = code(err)
		pb, err := n.pc.PrepareBatch(bg, &arbiterpb.PrepareBatchRequest{Items: []*arbiterpb.PrepareRequest{{TxId: id, Payload: []byte("a=1")}}})
		got["PrepareBatch item"] = code(err)
		if err == nil {
			got["PrepareBatch item"] = codes.Code(pb.GetResults()[0].GetCode())
		}
		db, err := n.pc.DecideBatch(bg, &arbiterpb.DecideBatchRequest{Term: 1, Items: []*arbiterpb.DecisionItem{{TxId: id, Outcome: arbiterpb.Outcome_OUTCOME_ABORT}}})
		got["DecideBatch item"] = code(err)
		if err == nil {
			got["DecideBatch item"] = codes.Code(db.GetResults()[0].GetCode())
		}
		got["Do"] = code(n.agent.Do(client.WithTxID(bg, id), func(ctx context.Context, tx *embedded.Tx) error {
			return tx.Put(ctx, "a", []byte("1"))
		}))
		for call, c := range got {
			if c != codes.InvalidArgument {
				t.Errorf("%s(%.12q...): %v, want InvalidArgument", call, id, c)
			}
		}
	}
	if outs, _ := n.store.Outcomes(); len(outs) != 0 {
		t.Errorf("outcomes recorded for refused IDs: %v", outs)
	}
	if p, _ := n.store.Prepared(bg); len(p) != 0 {
		t.Errorf("prepared for refused IDs: %v", p)
	}
}
