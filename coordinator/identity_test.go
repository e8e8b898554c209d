package coordinator_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/arbiter-tx/arbiter/internal/security"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// as is ctx carrying the forwarded-caller metadata a follower sends.
func as(ctx context.Context, caller string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, security.CallerKey, caller)
}

// A coordinator certificate for a node that is not a member (n9) cannot
// act: not as itself, not forwarding for an admin or a client, not even to
// add itself as a member. A member's certificate forwarding for an admin
// is the control: the same calls work.
func TestNonMemberCoordinatorCannotForward(t *testing.T) {
	c := newTestCluster(t)
	leader := c.waitLeader()
	addr := c.members[leader.id]
	before := snapshotTable(leader)
	ctx := ctxT(t, 20*time.Second)
	n9 := c.dial(addr, security.RoleCoordinator, "n9")
	calls := map[string]func(context.Context) error{
		"ListTransactions": func(ctx context.Context) error {
			_, err := arbiterpb.NewCoordinatorClient(n9).ListTransactions(ctx, &arbiterpb.ListTransactionsRequest{})
			return err
		},
		"Begin": func(ctx context.Context) error {
			_, err := arbiterpb.NewCoordinatorClient(n9).Begin(ctx, &arbiterpb.BeginRequest{})
			return err
		},
		"AddMember n9": func(ctx context.Context) error {
			_, err := arbiterpb.NewAdminClient(n9).AddMember(ctx, &arbiterpb.AddMemberRequest{Id: "n9", RaftAddress: "127.0.0.1:1", GrpcAddress: "127.0.0.1:2"})
			return err
		},
	}
	for name, call := range calls {
		for _, caller := range []string{"", "arbiter://admin/ops", "arbiter://client/alice", "arbiter://coordinator/n1"} {
			cctx := ctx
			if caller != "" {
				cctx = as(ctx, caller)
			}
			wantCode(t, name+" by n9 for "+caller, call(cctx), codes.PermissionDenied, "not a member of this cluster")
		}
	}
	if after := snapshotTable(leader); !proto.Equal(after, before) {
		t.Fatalf("refused calls changed the table:\nbefore %v\nafter  %v", before, after)
	}
	if leader.node.IsMember("n9") {
		t.Fatal("n9 became a member")
	}
	member := c.follower().id
	list, err := arbiterpb.NewCoordinatorClient(c.dial(addr, security.RoleCoordinator, member)).
		ListTransactions(as(ctx, "arbiter://admin/ops"), &arbiterpb.ListTransactionsRequest{})
	if err != nil || list == nil {
		t.Fatalf("member %s forwarding for an admin: %v", member, err)
	}
}

// The coordinator checks who answers at a participant's address: with
// participant a registered at b's address, a's Prepare never reaches b
// (b's handler does not run, its balance is untouched) and the
// transaction aborts.
func TestCoordinatorRefusesWrongParticipantServer(t *testing.T) {
	c := newTestCluster(t)
	a, b := c.addParticipant("a"), c.addParticipant("b")
	leader := c.waitLeader()
	ctx := ctxT(t, 30*time.Second)
	asA := arbiterpb.NewCoordinatorClient(c.dial(c.members[leader.id], security.RoleParticipant, "a"))
	if _, err := asA.Register(ctx, &arbiterpb.RegisterRequest{ParticipantId: "a", Address: b.addr}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "a registered at b's address", func() bool {
		addr, _ := c.waitLeader().node.FSM().Participant("a")
		return addr == b.addr
	})
	aCalls, bCalls, bBalance := a.calls.Load(), b.calls.Load(), b.balance()
	cli := c.client()
	tx, err := cli.Begin(ctx, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := cli.Commit(ctx, tx, a.branch(1)); err == nil && out == arbiterpb.Outcome_OUTCOME_COMMIT {
		t.Fatalf("committed with a's Prepare sent to b's server")
	}
	if a.calls.Load() != aCalls || b.calls.Load() != bCalls || b.balance() != bBalance {
		t.Fatalf("a handler ran: a %d -> %d, b %d -> %d, b's balance %d -> %d",
			aCalls, a.calls.Load(), bCalls, b.calls.Load(), bBalance, b.balance())
	}
}
