package coordinator_test

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/arbiter-tx/arbiter/internal/security"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// Bad requests get a clear status and leave the replicated table as it was.
func TestBadInputGetsClearErrorAndChangesNothing(t *testing.T) {
	c := newTestCluster(t)
	a := c.addParticipant("a")
	leader := c.waitLeader()
	// A member coordinator's certificate: coordinators may call anything.
	cc := arbiterpb.NewCoordinatorClient(c.dial(c.members[leader.id], security.RoleCoordinator, leader.id))
	ctx := ctxT(t, 20*time.Second)
	begun, err := cc.Begin(ctx, &arbiterpb.BeginRequest{})
	if err != nil {
		t.Fatal(err)
	}
	before := snapshotTable(leader)
	huge := make([]byte, 2<<20)
	cases := []struct {
		name string
		call func() error
		code codes.Code
		msg  string
	}{
		{"unknown tx commit", func() error {
			_, err := cc.Commit(ctx, &arbiterpb.CommitRequest{TxId: "no-such-tx", Branches: []*arbiterpb.Branch{a.branch(1)}})
			return err
		}, codes.NotFound, "begin a transaction first"},
		{"unknown tx status", func() error {
			_, err := cc.Status(ctx, &arbiterpb.StatusRequest{TxId: "no-such-tx"})
			return err
		}, codes.NotFound, "unknown transaction"},
		{"empty tx id", func() error {
			_, err := cc.Commit(ctx, &arbiterpb.CommitRequest{})
			return err
		}, codes.InvalidArgument, "tx_id is empty"},
		{"no branches, nobody enlisted", func() error {
			_, err := cc.Commit(ctx, &arbiterpb.CommitRequest{TxId: begun.TxId})
			return err
		}, codes.InvalidArgument, "no participants"},
		{"unknown participant", func() error {
			_, err := cc.Commit(ctx, &arbiterpb.CommitRequest{TxId: begun.TxId, Branches: []*arbiterpb.Branch{{ParticipantId: "ghost"}}})
			return err
		}, codes.InvalidArgument, "has not registered"},
		{"deadline in the past", func() error {
			_, err := cc.Begin(ctx, &arbiterpb.BeginRequest{TimeoutMillis: -5})
			return err
		}, codes.InvalidArgument, "in the past"},
		{"deadline too far", func() error {
			_, err := cc.Begin(ctx, &arbiterpb.BeginRequest{TimeoutMillis: int64(24 * time.Hour / time.Millisecond)})
			return err
		}, codes.InvalidArgument, "exceeds the maximum"},
		{"oversized payload", func() error {
			_, err := cc.Commit(ctx, &arbiterpb.CommitRequest{TxId: begun.TxId, Branches: []*arbiterpb.Branch{{ParticipantId: "a", Payload: huge}}})
			return err
		}, codes.InvalidArgument, "over the limit"},
		{"duplicate branch", func() error {
			_, err := cc.Commit(ctx, &arbiterpb.CommitRequest{TxId: begun.TxId, Branches: []*arbiterpb.Branch{a.branch(1), a.branch(2)}})
			return err
		}, codes.InvalidArgument, "two branches"},
		{"enlist unknown participant", func() error {
			_, err := cc.Enlist(ctx, &arbiterpb.EnlistRequest{TxId: begun.TxId, ParticipantId: "ghost"})
			return err
		}, codes.InvalidArgument, "must register"},
		{"register without address", func() error {
			_, err := cc.Register(ctx, &arbiterpb.RegisterRequest{ParticipantId: "x"})
			return err
		}, codes.InvalidArgument, "address"},
		{"deadline too short", func() error {
			_, err := cc.Begin(ctx, &arbiterpb.BeginRequest{TimeoutMillis: 1})
			return err
		}, codes.InvalidArgument, "under the minimum of 50ms (--min-timeout)"},
		{"one-shot deadline too short", func() error {
			_, err := cc.Commit(ctx, &arbiterpb.CommitRequest{OneShot: true, TimeoutMillis: 1, Branches: []*arbiterpb.Branch{a.branch(1)}})
			return err
		}, codes.InvalidArgument, "under the minimum"},
	}
	for _, tc := range cases {
		err := settled(tc.call)
		st, _ := status.FromError(err)
		if st.Code() != tc.code || !strings.Contains(st.Message(), tc.msg) {
			t.Errorf("%s: got %v %q, want %v containing %q", tc.name, st.Code(), st.Message(), tc.code, tc.msg)
		}
	}
	if after := snapshotTable(leader); !proto.Equal(after, before) {
		t.Fatalf("bad input changed the table:\nbefore %v\nafter  %v", before, after)
	}
	if a.calls.Load() != 0 {
		t.Fatalf("a participant's handler ran %d times on bad input", a.calls.Load())
	}
}

// settled runs call until it gives an answer other than Unavailable ("no
// leader available"), for at most 15 s: a leadership change under a loaded
// test machine is not what these tests are about, and the client SDK
// retries the same way.
func settled(call func() error) error {
	err := call()
	for end := time.Now().Add(15 * time.Second); status.Code(err) == codes.Unavailable && time.Now().Before(end); err = call() {
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

// snapshotTable captures the leader's live table (every field a request
// could change: state, deadline, participants, owner, decision) and the
// registered participants.
func snapshotTable(n *testNode) *arbiterpb.ListTransactionsResponse {
	out := &arbiterpb.ListTransactionsResponse{}
	for _, rec := range n.node.FSM().Pending() {
		out.Txs = append(out.Txs, &arbiterpb.TxInfo{
			TxId: rec.GetTxId(), State: rec.GetState(), DeadlineUnixNanos: rec.GetDeadlineUnixNanos(),
			Participants: rec.GetParticipants(), ClientId: rec.GetClientId(),
			DecidedIndex: rec.GetDecidedIndex(), Finished: rec.GetFinished(),
		})
	}
	parts := n.node.FSM().Participants()
	for _, id := range slices.Sorted(maps.Keys(parts)) {
		out.Txs = append(out.Txs, &arbiterpb.TxInfo{TxId: "participant:" + id + "@" + parts[id]})
	}
	return out
}
