package raftlog

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	pb "github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// A stopped node's data directory replays offline into the same table and
// the same first decisions, before and after a snapshot compacts the log.
func TestReplayRebuildsStateOffline(t *testing.T) {
	for _, snapshot := range []bool{false, true} {
		dir := t.TempDir()
		n := openSingle(t, dir)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		mustApply(ctx, t, n, pb.CommandType_COMMAND_TYPE_BEGIN, &pb.BeginCommand{TxId: "t1", DeadlineUnixNanos: 1})
		mustApply(ctx, t, n, pb.CommandType_COMMAND_TYPE_DECIDE, &pb.DecideCommand{TxId: "t1", Outcome: pb.Outcome_OUTCOME_COMMIT, Participants: []string{"p"}})
		if snapshot {
			if err := n.Snapshot(); err != nil {
				t.Fatal(err)
			}
		}
		mustApply(ctx, t, n, pb.CommandType_COMMAND_TYPE_DECIDE, &pb.DecideCommand{TxId: "t1", Outcome: pb.Outcome_OUTCOME_ABORT})
		mustApply(ctx, t, n, pb.CommandType_COMMAND_TYPE_BEGIN, &pb.BeginCommand{TxId: "t2", DeadlineUnixNanos: 1})
		cancel()
		if err := n.Close(); err != nil {
			t.Fatal(err)
		}
		r, err := Replay(dir)
		if err != nil {
			t.Fatalf("snapshot=%v: replay: %v", snapshot, err)
		}
		rec, ok := r.FSM.Get("t1")
		if !ok || rec.GetState() != pb.TxState_TX_STATE_COMMITTED {
			t.Fatalf("snapshot=%v: t1 = %v, want COMMITTED (first decision wins)", snapshot, rec)
		}
		if _, ok := r.FSM.Get("t2"); !ok {
			t.Fatalf("snapshot=%v: t2 missing after replay", snapshot)
		}
		if !snapshot && r.Decisions["t1"] != "commit" {
			t.Fatalf("decisions %v, want t1 commit", r.Decisions)
		}
		if snapshot && r.SnapshotIndex == 0 {
			t.Fatal("snapshot was not used")
		}
		if r.Decisions["t1"] != "commit" {
			t.Fatalf("snapshot=%v: decisions %v, want t1 commit (from the log or the snapshot)", snapshot, r.Decisions)
		}
	}
}

// openSingle opens a one-node cluster on an OS-chosen port in dir.
func openSingle(t *testing.T, dir string) *Node {
	t.Helper()
	cfg := testConfig(t, "solo")
	cfg.DataDir = dir
	tr, err := raft.NewTCPTransportWithLogger("127.0.0.1:0", nil, 3, time.Second, newHclog(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	cfg.BindAddr = string(tr.LocalAddr())
	cfg.Peers = []Peer{{ID: "solo", Address: cfg.BindAddr}}
	n, err := OpenWith(cfg, testLogger(t), Deps{Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "solo leader", n.IsLeader)
	return n
}

func mustApply(ctx context.Context, t *testing.T, n *Node, ct pb.CommandType, m proto.Message) {
	t.Helper()
	if _, err := n.Apply(ctx, ct, m); err != nil {
		t.Fatal(err)
	}
}

// An implicit commit (a FINISH of a STAGING record) is a decision Replay
// reports even after a later FINISH's window cut forgot the record: it is
// noted when its FINISH applies, not read from the table at the end.
func TestReplayKeepsImplicitCommitsTheWindowForgot(t *testing.T) {
	dir := t.TempDir()
	n := openSingle(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	mustApply(ctx, t, n, pb.CommandType_COMMAND_TYPE_STAGE, &pb.StageCommand{TxId: "p1", Participants: []string{"a"}, DeadlineUnixNanos: 1})
	mustApply(ctx, t, n, pb.CommandType_COMMAND_TYPE_FINISH, &pb.FinishCommand{ImplicitCommitTxIds: []string{"p1"}, NowUnixNanos: 100})
	mustApply(ctx, t, n, pb.CommandType_COMMAND_TYPE_FINISH, &pb.FinishCommand{NowUnixNanos: 1000, ForgetBeforeUnixNanos: 900})
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := Replay(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.FSM.Get("p1"); ok {
		t.Fatal("p1 is still in the table: the window's cut did not forget it")
	}
	if r.Decisions["p1"] != "commit" {
		t.Fatalf("decisions %v, want p1 commit (implicit, forgotten since)", r.Decisions)
	}
}
