package coordinator_test

import (
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/arbiter-tx/arbiter/coordinator"
	"github.com/arbiter-tx/arbiter/internal/failpoint"
	"github.com/arbiter-tx/arbiter/internal/security"
	"github.com/arbiter-tx/arbiter/participant"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
	"github.com/arbiter-tx/arbiter/raftlog"
)

// An operator forces ABORT on a transaction whose participants prepared
// and whose leader holds no decision; they are released. Forcing it again
// is refused and changes nothing.
func TestAdminForceDecideAbortsUndecided(t *testing.T) {
	c := newTestCluster(t)
	a, b := c.addParticipant("a"), c.addParticipant("b")
	leader := c.waitLeader()
	hits := c.fail.arm(leader.id, failpoint.BeforeDecide)
	cli := c.client()
	ctx := ctxT(t, 30*time.Second)
	tx, _ := cli.Begin(ctx, 0)
	done := make(chan arbiterpb.Outcome, 1)
	go func() {
		out, _ := cli.Commit(ctx, tx, a.branch(-40), b.branch(40))
		done <- out
	}()
	waitHit(t, hits, "before-decide on the leader")
	adm := c.adminAs(c.members[c.follower().id], security.RoleAdmin, "ops") // forwarded to the leader
	_, err := adm.ForceDecide(ctx, &arbiterpb.ForceDecideRequest{TxId: tx, Outcome: arbiterpb.Outcome_OUTCOME_COMMIT})
	wantCode(t, "forced COMMIT during a run", err, codes.FailedPrecondition, "force ABORT")
	resp, err := adm.ForceDecide(ctx, &arbiterpb.ForceDecideRequest{TxId: tx, Outcome: arbiterpb.Outcome_OUTCOME_ABORT})
	if err != nil || resp.GetOutcome() != arbiterpb.Outcome_OUTCOME_ABORT || !resp.GetForced() ||
		resp.GetReason() != "forced by operator arbiter://admin/ops" {
		t.Fatalf("ForceDecide ABORT: %v, %v", resp, err)
	}
	c.fail.releaseAll()
	if out := recv(t, done, 20*time.Second, "the client's commit"); out != arbiterpb.Outcome_OUTCOME_ABORT {
		t.Fatalf("the client's Commit returned %v, want the forced ABORT", out)
	}
	waitFor(t, 15*time.Second, "participants released by the forced ABORT", func() bool {
		return a.state(tx) == participant.StateAborted && b.state(tx) == participant.StateAborted
	})
	if a.balance() != 100 || b.balance() != 100 {
		t.Fatalf("balances a=%d b=%d, want both 100", a.balance(), b.balance())
	}
	waitFor(t, 10*time.Second, "phase 2 finished", func() bool {
		rec, _ := leader.node.FSM().Get(tx)
		return rec.GetFinished()
	})
	before, recBefore := snapshotTable(leader), mustGet(t, leader, tx)
	for _, n := range c.nodes {
		_, err := c.adminAs(c.members[n.id], security.RoleAdmin, "ops").ForceDecide(ctx,
			&arbiterpb.ForceDecideRequest{TxId: tx, Outcome: arbiterpb.Outcome_OUTCOME_COMMIT})
		wantCode(t, n.id+": force a decided tx", err, codes.FailedPrecondition, "already decided: OUTCOME_ABORT (forced by operator")
	}
	if after := snapshotTable(leader); !proto.Equal(after, before) || !proto.Equal(mustGet(t, leader, tx), recBefore) {
		t.Fatalf("a refused ForceDecide changed the table")
	}
}

// Only admins (and coordinators) reach the Admin service.
func TestAdminRefusesClientsAndParticipants(t *testing.T) {
	c := newTestCluster(t)
	c.addParticipant("a")
	leader := c.waitLeader()
	ctx := ctxT(t, 20*time.Second)
	tx, err := c.client().Begin(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	before, members := snapshotTable(leader), leader.node.Stats().Members
	for _, n := range c.nodes {
		for _, who := range []struct {
			role security.Role
			id   string
		}{{security.RoleClient, "test"}, {security.RoleParticipant, "a"}} {
			adm := c.adminAs(c.members[n.id], who.role, who.id)
			name := n.id + ": " + string(who.role)
			_, err := adm.ForceDecide(ctx, &arbiterpb.ForceDecideRequest{TxId: tx, Outcome: arbiterpb.Outcome_OUTCOME_ABORT})
			wantCode(t, name+" ForceDecide", err, codes.PermissionDenied, "allowed roles: admin")
			_, err = adm.RetryPhase2(ctx, &arbiterpb.RetryPhase2Request{TxId: tx})
			wantCode(t, name+" RetryPhase2", err, codes.PermissionDenied, "allowed roles: admin")
			_, err = adm.AddMember(ctx, &arbiterpb.AddMemberRequest{Id: "evil", RaftAddress: "127.0.0.1:1", GrpcAddress: "127.0.0.1:2"})
			wantCode(t, name+" AddMember", err, codes.PermissionDenied, "allowed roles: admin")
			_, err = adm.RemoveMember(ctx, &arbiterpb.RemoveMemberRequest{Id: n.id})
			wantCode(t, name+" RemoveMember", err, codes.PermissionDenied, "allowed roles: admin")
			_, err = adm.Snapshot(ctx, &arbiterpb.SnapshotRequest{})
			wantCode(t, name+" Snapshot", err, codes.PermissionDenied, "allowed roles: admin")
			_, err = adm.TraceTx(ctx, &arbiterpb.TraceTxRequest{TxId: tx})
			wantCode(t, name+" TraceTx", err, codes.PermissionDenied, "allowed roles: admin")
		}
	}
	if !proto.Equal(snapshotTable(leader), before) || !slices.Equal(leader.node.Stats().Members, members) {
		t.Fatal("refused Admin calls changed the table or the membership")
	}
	resp, err := c.adminAs(c.members[leader.id], security.RoleAdmin, "ops").Snapshot(ctx, &arbiterpb.SnapshotRequest{})
	if err != nil || resp.GetNodeId() != leader.id {
		t.Fatalf("admin Snapshot: %v, %v", resp, err)
	}
}

// A participant that was down when the decision was made gets it promptly
// after RetryPhase2, instead of after the driver's (long) backoff.
func TestAdminRetryPhase2DeliversPromptly(t *testing.T) {
	c := newTestClusterWith(t, func(cfg *coordinator.Config) { cfg.RetryMin, cfg.RetryMax = 20*time.Second, 20*time.Second })
	a, b := c.addParticipant("a"), c.addParticipant("b")
	leader := c.waitLeader()
	ctx := ctxT(t, 30*time.Second)
	adm := c.adminAs(c.members[c.follower().id], security.RoleAdmin, "ops")
	cli := c.client()
	open, _ := cli.Begin(ctx, 0)
	_, err := adm.RetryPhase2(ctx, &arbiterpb.RetryPhase2Request{TxId: open})
	wantCode(t, "retry an undecided tx", err, codes.FailedPrecondition, "has no decision")
	_, err = adm.RetryPhase2(ctx, &arbiterpb.RetryPhase2Request{TxId: "no-such-tx"})
	wantCode(t, "retry an unknown tx", err, codes.NotFound, "unknown transaction")

	hits := c.fail.arm(leader.id, failpoint.AfterDecide)
	tx, _ := cli.Begin(ctx, 0)
	done := make(chan arbiterpb.Outcome, 1)
	go func() {
		out, _ := cli.Commit(ctx, tx, a.branch(-25), b.branch(25))
		done <- out
	}()
	waitHit(t, hits, "after-decide on the leader")
	b.kill() // its first phase-2 attempt fails; the next is 10-20 s away
	c.fail.releaseAll()
	if out := recv(t, done, 20*time.Second, "the client's commit"); out != arbiterpb.Outcome_OUTCOME_COMMIT {
		t.Fatalf("outcome %v, want COMMIT", out)
	}
	b.start()
	// b is back once it has resolved the outcome itself; the leader's
	// driver for b still sleeps, so phase 2 is not finished.
	waitFor(t, 10*time.Second, "b back and committed", func() bool { return b.state(tx) == participant.StateCommitted })
	if rec := mustGet(t, leader, tx); rec.GetFinished() {
		t.Fatal("phase 2 finished without the retry: the backoff did not hold")
	}
	resp, err := adm.RetryPhase2(ctx, &arbiterpb.RetryPhase2Request{TxId: tx})
	if err != nil || resp.GetOutcome() != arbiterpb.Outcome_OUTCOME_COMMIT || resp.GetFinished() {
		t.Fatalf("RetryPhase2: %v, %v", resp, err)
	}
	waitFor(t, 5*time.Second, "phase 2 finished after the retry", func() bool {
		return mustGet(t, leader, tx).GetFinished()
	})
	if b.state(tx) != participant.StateCommitted || b.balance() != 125 {
		t.Fatalf("b: state %v balance %d, want committed and 125", b.state(tx), b.balance())
	}
}

// A node started in join mode is added by AddMember, catches up with the
// leader's table, serves (forwarding to the leader), and is removed again.
func TestAdminAddAndRemoveMember(t *testing.T) {
	c := newTestCluster(t)
	a := c.addParticipant("a")
	cli := c.client()
	ctx := ctxT(t, 40*time.Second)
	done, _ := cli.Begin(ctx, 0)
	if out, err := cli.Commit(ctx, done, a.branch(1)); err != nil || out != arbiterpb.Outcome_OUTCOME_COMMIT {
		t.Fatalf("commit: %v, %v", out, err)
	}
	open, _ := cli.Begin(ctx, 30*time.Second)
	n4 := c.addJoiner("n4")
	time.Sleep(time.Second) // a joiner must not elect itself or bootstrap
	if n4.node.IsLeader() || n4.node.Stats().LeaderID != "" {
		t.Fatalf("the joiner %s found a leader before it was added: %+v", n4.id, n4.node.Stats())
	}
	adm := c.adminAs(c.members[c.follower().id], security.RoleAdmin, "ops")
	resp, err := adm.AddMember(ctx, &arbiterpb.AddMemberRequest{Id: "n4", RaftAddress: c.peerAddr("n4"), GrpcAddress: c.members["n4"]})
	if err != nil || !hasMember(resp.GetMembers(), "n4") {
		t.Fatalf("AddMember: %v, %v", resp, err)
	}
	leader := c.waitLeader()
	waitFor(t, 15*time.Second, "n4 caught up", func() bool {
		return proto.Equal(snapshotTable(n4), snapshotTable(leader)) && n4.node.Stats().AppliedIndex >= leader.node.Stats().CommitIndex
	})
	if rec, ok := n4.node.FSM().Get(done); !ok || rec.GetState() != arbiterpb.TxState_TX_STATE_COMMITTED {
		t.Fatalf("n4 lacks the committed tx: %v", rec)
	}
	if _, ok := n4.node.FSM().Get(open); !ok {
		t.Fatal("n4 lacks the open tx")
	}
	cl, _ := leader.coord.Cluster(ctx, &arbiterpb.ClusterRequest{})
	if m := memberOf(cl.GetMembers(), "n4"); m.GetGrpcAddress() != c.members["n4"] {
		t.Fatalf("the leader did not learn n4's gRPC address: %v", cl.GetMembers())
	}
	if _, err := c.clientAs("test", c.members["n4"]).Begin(ctx, 0); err != nil {
		t.Fatalf("Begin through n4: %v", err)
	}
	if _, err := adm.RemoveMember(ctx, &arbiterpb.RemoveMemberRequest{Id: "n4"}); err != nil {
		t.Fatalf("RemoveMember: %v", err)
	}
	for _, n := range c.nodes[:3] {
		waitFor(t, 10*time.Second, n.id+" sees n4 removed", func() bool {
			return !hasPeer(n.node.Stats().Members, "n4") && len(n.node.Stats().Members) == 3
		})
	}
	c.kill(n4)
	_, err = adm.RemoveMember(ctx, &arbiterpb.RemoveMemberRequest{Id: "n4"})
	wantCode(t, "remove n4 twice", err, codes.NotFound, "no such member")
}

func mustGet(t *testing.T, n *testNode, txID string) *arbiterpb.TxRecord {
	t.Helper()
	rec, ok := n.node.FSM().Get(txID)
	if !ok {
		t.Fatalf("%s has no record of %s", n.id, txID)
	}
	return rec
}

func hasMember(ms []*arbiterpb.Member, id string) bool { return memberOf(ms, id) != nil }

func memberOf(ms []*arbiterpb.Member, id string) *arbiterpb.Member {
	for _, m := range ms {
		if m.GetId() == id {
			return m
		}
	}
	return nil
}

func hasPeer(ps []raftlog.Peer, id string) bool {
	return slices.ContainsFunc(ps, func(p raftlog.Peer) bool { return p.ID == id })
}
