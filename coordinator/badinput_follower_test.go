package coordinator_test

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/arbiter-tx/arbiter/internal/security"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// Abort of a transaction ID nobody began is NOT_FOUND and writes nothing:
// in particular no ABORT record for the unknown ID.
func TestAbortUnknownTxChangesNothing(t *testing.T) {
	c := newTestCluster(t)
	c.addParticipant("a")
	leader := c.waitLeader()
	cc := arbiterpb.NewCoordinatorClient(c.dial(c.members[leader.id], security.RoleClient, "test"))
	ctx := ctxT(t, 20*time.Second)
	if _, err := cc.Begin(ctx, &arbiterpb.BeginRequest{ClientId: "test"}); err != nil {
		t.Fatal(err)
	}
	before := snapshotTable(leader)
	_, err := cc.Abort(ctx, &arbiterpb.AbortRequest{TxId: "no-such-tx"})
	if st, _ := status.FromError(err); st.Code() != codes.NotFound || !strings.Contains(st.Message(), "begin a transaction first") {
		t.Fatalf("abort of an unknown tx: %v %q, want NotFound saying to begin a transaction first", st.Code(), st.Message())
	}
	if _, ok := leader.node.FSM().Get("no-such-tx"); ok {
		t.Fatal("abort of an unknown tx created a record")
	}
	if after := snapshotTable(leader); !proto.Equal(after, before) {
		t.Fatalf("abort of an unknown tx changed the table:\nbefore %v\nafter  %v", before, after)
	}
}

// Bad input sent to a follower gets the same clear status from the leader
// it is forwarded to, and changes nothing.
func TestBadInputThroughFollowerChangesNothing(t *testing.T) {
	c := newTestCluster(t)
	a := c.addParticipant("a")
	leader, f := c.waitLeader(), c.follower()
	term := f.node.Term()
	assertStillFollower(t, f, term)
	cc := arbiterpb.NewCoordinatorClient(c.dial(c.members[f.id], security.RoleClient, "test"))
	ctx := ctxT(t, 20*time.Second)
	begun, err := cc.Begin(ctx, &arbiterpb.BeginRequest{ClientId: "test"})
	if err != nil {
		t.Fatalf("begin through follower: %v", err)
	}
	waitFor(t, 5*time.Second, "the follower to hold the new record", func() bool {
		_, ok := f.node.FSM().Get(begun.GetTxId())
		return ok
	})
	before := snapshotTable(leader)
	_, err = cc.Abort(ctx, &arbiterpb.AbortRequest{TxId: "no-such-tx"})
	if st, _ := status.FromError(err); st.Code() != codes.NotFound || !strings.Contains(st.Message(), "begin a transaction first") {
		t.Errorf("abort of an unknown tx through follower: %v %q, want NotFound", st.Code(), st.Message())
	}
	_, err = cc.Commit(ctx, &arbiterpb.CommitRequest{TxId: begun.GetTxId(), Branches: []*arbiterpb.Branch{{ParticipantId: "ghost"}}})
	if st, _ := status.FromError(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "has not registered") {
		t.Errorf("commit naming an unregistered participant through follower: %v %q, want InvalidArgument", st.Code(), st.Message())
	}
	if after := snapshotTable(leader); !proto.Equal(after, before) {
		t.Fatalf("bad input through a follower changed the table:\nbefore %v\nafter  %v", before, after)
	}
	if a.calls.Load() != 0 {
		t.Fatalf("a participant's handler ran %d times on bad input", a.calls.Load())
	}
	assertStillFollower(t, f, term)
}
