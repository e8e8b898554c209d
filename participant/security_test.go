package participant_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/arbiter-tx/arbiter/internal/fakecoord"
	"github.com/arbiter-tx/arbiter/internal/security"
	"github.com/arbiter-tx/arbiter/internal/security/sectest"
	"github.com/arbiter-tx/arbiter/participant"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// p1 is the identity the test agent's server presents.
var p1 = security.Identity{Role: security.RoleParticipant, ID: "p1"}

func dialAgent(t *testing.T, n *node, opt grpc.DialOption) arbiterpb.ParticipantClient {
	t.Helper()
	cc, err := grpc.NewClient(n.conn.Target(), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return arbiterpb.NewParticipantClient(cc)
}

// Only coordinator identities drive phase 1 and 2; a refused call changes
// nothing (no handler run, no term raised, no decision applied).
func TestAgentAcceptsDecisionsOnlyFromCoordinators(t *testing.T) {
	coord := fakecoord.StartTLS(t)
	n := startNode(t, coord, t.TempDir())
	if v := n.prepare(t, "t1", "k=v").GetVote(); v != arbiterpb.Vote_VOTE_YES {
		t.Fatalf("coordinator prepare: %v", v)
	}
	calls := n.calls.Load()
	for _, who := range []security.Identity{
		{Role: security.RoleParticipant, ID: "p2"}, {Role: security.RoleClient, ID: "c"}, {Role: security.RoleAdmin, ID: "a"},
	} {
		pc := dialAgent(t, n, security.DialTo(coord.PKI.Source(who.Role, who.ID), p1))
		ctx := ctxShort(t)
		_, err := pc.Commit(ctx, &arbiterpb.DecisionRequest{TxId: "t1", Term: 1 << 40})
		wantDenied(t, who.String()+" Commit", err)
		_, err = pc.Abort(ctx, &arbiterpb.DecisionRequest{TxId: "t1", Term: 1 << 40})
		wantDenied(t, who.String()+" Abort", err)
		_, err = pc.Prepare(ctx, &arbiterpb.PrepareRequest{TxId: "t2", Payload: []byte("k=w"), Term: 1})
		wantDenied(t, who.String()+" Prepare", err)
		_, err = pc.PrepareBatch(ctx, &arbiterpb.PrepareBatchRequest{Items: []*arbiterpb.PrepareRequest{{TxId: "t2", Payload: []byte("k=w"), Term: 1}}})
		wantDenied(t, who.String()+" PrepareBatch", err)
		_, err = pc.Refuse(ctx, &arbiterpb.RefuseRequest{TxId: "t3", Term: 1 << 40})
		wantDenied(t, who.String()+" Refuse", err)
		_, err = pc.DecideBatch(ctx, &arbiterpb.DecideBatchRequest{Items: []*arbiterpb.DecisionItem{{TxId: "t1", Outcome: arbiterpb.Outcome_OUTCOME_ABORT}}, Term: 1 << 40})
		wantDenied(t, who.String()+" DecideBatch", err)
	}
	if n.calls.Load() != calls || n.state(t, "t1") != participant.StatePrepared || n.state(t, "t2") != participant.StateNone ||
		n.state(t, "t3") != participant.StateNone {
		t.Fatal("refused calls changed the participant")
	}
	admin := dialAgent(t, n, security.DialTo(coord.PKI.Source(security.RoleAdmin, "a"), p1))
	resp, err := admin.Inspect(ctxShort(t), &arbiterpb.InspectRequest{})
	if err != nil || resp.GetHighestTerm() >= 1<<40 {
		t.Fatalf("admin Inspect: %v (term %d: refused calls must raise no term)", err, resp.GetHighestTerm())
	}
	other := dialAgent(t, n, security.DialTo(coord.PKI.Source(security.RoleParticipant, "p2"), p1))
	_, err = other.Inspect(ctxShort(t), &arbiterpb.InspectRequest{})
	wantDenied(t, "participant Inspect", err)
}

// Without a certificate from the cluster CA nothing gets through.
func TestAgentRefusesUntrustedConnections(t *testing.T) {
	coord := fakecoord.StartTLS(t)
	n := startNode(t, coord, t.TempDir())
	for name, opt := range map[string]grpc.DialOption{
		"plaintext":  grpc.WithTransportCredentials(insecure.NewCredentials()),
		"another CA": security.DialTo(sectest.New(t).Source(security.RoleCoordinator, "n1"), p1),
		"expired":    security.DialTo(coord.PKI.Expired(security.RoleCoordinator, "n1"), p1),
	} {
		_, err := dialAgent(t, n, opt).Commit(ctxShort(t), &arbiterpb.DecisionRequest{TxId: "t1", Term: 1})
		if status.Code(err) != codes.Unavailable {
			t.Errorf("%s: got %v, want Unavailable (handshake refused)", name, err)
		}
	}
}

func wantDenied(t *testing.T, what string, err error) {
	t.Helper()
	if status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "only from") {
		t.Errorf("%s: got %v, want PermissionDenied", what, err)
	}
}

func ctxShort(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(bg, 3*time.Second)
	t.Cleanup(cancel)
	return ctx
}
