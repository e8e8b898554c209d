package raftlog

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	pb "github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// cluster is an in-process cluster over real TCP on 127.0.0.1.
type cluster struct {
	t     testing.TB
	cfgs  []Config
	nodes []*Node // nil when stopped
}

func testConfig(t testing.TB, id string) Config {
	cfg := DefaultConfig()
	cfg.ID, cfg.DataDir = id, t.TempDir()
	cfg.HeartbeatTimeout, cfg.ElectionTimeout = 150*time.Millisecond, 150*time.Millisecond
	cfg.LeaderLeaseTimeout, cfg.CommitTimeout = 100*time.Millisecond, 5*time.Millisecond
	cfg.ApplyTimeout = 3 * time.Second
	if store := os.Getenv(testLogStoreEnv); store != "" {
		cfg.LogStore = store // run the package's tests on another store
	}
	return cfg
}

// testLogStoreEnv, when set (boltdb or wal), is the log store of the
// nodes the in-process tests open, here and in coordinator's harness:
// ARBITER_TEST_LOG_STORE=wal go test ./raftlog runs them on raft-wal.
const testLogStoreEnv = "ARBITER_TEST_LOG_STORE"

func testLogger(t testing.TB) *zap.Logger {
	return zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
}

// newCluster listens on OS-chosen ports first, then bootstraps with them.
// newCluster opens size nodes on real TCP; each opt adjusts every node's
// config after testConfig.
func newCluster(t testing.TB, size int, opts ...func(*Config)) *cluster {
	c := &cluster{t: t}
	var transports []*raft.NetworkTransport
	var peers []Peer
	for i := 0; i < size; i++ {
		tr, err := raft.NewTCPTransportWithLogger("127.0.0.1:0", nil, 3, time.Second, newHclog(testLogger(t)))
		if err != nil {
			t.Fatal(err)
		}
		transports = append(transports, tr)
		cfg := testConfig(t, "n"+string(rune('1'+i)))
		for _, opt := range opts {
			opt(&cfg)
		}
		cfg.BindAddr = string(tr.LocalAddr())
		c.cfgs = append(c.cfgs, cfg)
		peers = append(peers, Peer{ID: cfg.ID, Address: cfg.BindAddr})
	}
	for i := range c.cfgs {
		c.cfgs[i].Peers = peers
		n, err := OpenWith(c.cfgs[i], testLogger(t), Deps{Transport: transports[i]})
		if err != nil {
			t.Fatal(err)
		}
		c.nodes = append(c.nodes, n)
	}
	t.Cleanup(c.closeAll)
	return c
}

func (c *cluster) closeAll() {
	for i := range c.nodes {
		c.stop(i)
	}
}

func (c *cluster) stop(i int) {
	if c.nodes[i] != nil {
		if err := c.nodes[i].Close(); err != nil {
			c.t.Errorf("close %s: %v", c.cfgs[i].ID, err)
		}
		c.nodes[i] = nil
	}
}

// restart reopens node i from its data dir on its old address.
func (c *cluster) restart(i int) {
	n, err := Open(c.cfgs[i], testLogger(c.t))
	if err != nil {
		c.t.Fatal(err)
	}
	c.nodes[i] = n
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// leader waits for exactly one running node to lead and returns its index.
func (c *cluster) leader() int {
	c.t.Helper()
	idx := -1
	waitFor(c.t, "a leader", func() bool {
		idx = -1
		for i, n := range c.nodes {
			if n != nil && n.IsLeader() {
				if idx >= 0 {
					return false
				}
				idx = i
			}
		}
		return idx >= 0
	})
	return idx
}

// converged waits until every running node has the transaction in state.
func (c *cluster) converged(txID string, state pb.TxState) {
	c.t.Helper()
	waitFor(c.t, txID+" on every node", func() bool {
		for _, n := range c.nodes {
			if n == nil {
				continue
			}
			if r, ok := n.FSM().Get(txID); !ok || r.State != state {
				return false
			}
		}
		return true
	})
}

func applyBegin(ctx context.Context, n *Node, id string) (Result, error) {
	return n.Apply(ctx, pb.CommandType_COMMAND_TYPE_BEGIN, &pb.BeginCommand{TxId: id, DeadlineUnixNanos: 1})
}

func TestClusterApplyRestartFailover(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t, 3)
	li := c.leader()
	ld := c.nodes[li]
	if res, err := applyBegin(ctx, ld, "t1"); err != nil || res.Err != nil || res.Tx.BeginIndex == 0 {
		t.Fatalf("begin on leader: %+v %v", res, err)
	}
	res, err := ld.Apply(ctx, pb.CommandType_COMMAND_TYPE_DECIDE, &pb.DecideCommand{TxId: "t1", Outcome: commit})
	if err != nil || res.Tx.GetState() != pb.TxState_TX_STATE_COMMITTED {
		t.Fatalf("decide: %+v %v", res, err)
	}
	if err := ld.Barrier(ctx); err != nil {
		t.Fatal(err)
	}
	if err := ld.VerifyLeader(ctx); err != nil {
		t.Fatal(err)
	}
	fi := (li + 1) % 3
	if _, err := applyBegin(ctx, c.nodes[fi], "t2"); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("follower apply: %v, want ErrNotLeader", err)
	}
	if err := c.nodes[fi].VerifyLeader(ctx); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("follower VerifyLeader: %v", err)
	}
	c.converged("t1", pb.TxState_TX_STATE_COMMITTED)
	checkStats(t, c, li)

	// Restart a follower from its data dir: no re-bootstrap, state recovered.
	c.stop(fi)
	if _, err := applyBegin(ctx, ld, "t3"); err != nil {
		t.Fatal(err)
	}
	c.restart(fi)
	c.converged("t3", pb.TxState_TX_STATE_ACTIVE)
	if r, ok := c.nodes[fi].FSM().Get("t1"); !ok || r.State != pb.TxState_TX_STATE_COMMITTED {
		t.Fatalf("restarted node lost t1: %v", r)
	}

	// Kill the leader: a new one takes over with the same FSM content.
	oldTerm := ld.Term()
	c.stop(li)
	ni := c.leader()
	nl := c.nodes[ni]
	if ni == li || nl.Term() <= oldTerm {
		t.Fatalf("new leader %d term %d (old %d term %d)", ni, nl.Term(), li, oldTerm)
	}
	if err := nl.Barrier(ctx); err != nil {
		t.Fatal(err)
	}
	res, err = nl.Apply(ctx, pb.CommandType_COMMAND_TYPE_DECIDE, &pb.DecideCommand{TxId: "t1", Outcome: abort})
	if err != nil || !res.AlreadyDecided || res.Tx.State != pb.TxState_TX_STATE_COMMITTED {
		t.Fatalf("write-once across failover: %+v %v", res, err)
	}
	if _, err := applyBegin(ctx, nl, "t4"); err != nil {
		t.Fatal(err)
	}
	c.converged("t4", pb.TxState_TX_STATE_ACTIVE)
	assertSameFSM(t, nl.FSM(), c.nodes[3-li-ni].FSM())
}

func checkStats(t *testing.T, c *cluster, li int) {
	t.Helper()
	s := c.nodes[li].Stats()
	if s.State != "Leader" || s.LeaderID != c.cfgs[li].ID || len(s.Members) != 3 || s.CommitIndex == 0 {
		t.Fatalf("stats %+v", s)
	}
	if c.nodes[li].LeaderChangeCount() == 0 {
		t.Fatal("no leader change observed")
	}
	select {
	case v := <-c.nodes[li].LeaderChanges():
		if !v {
			t.Fatal("leader's latest LeaderChanges value is false")
		}
	default:
		t.Fatal("leader has no LeaderChanges value")
	}
	if id, addr := c.nodes[(li+1)%3].Leader(); id != c.cfgs[li].ID || addr != c.cfgs[li].BindAddr {
		t.Fatalf("follower sees leader %q %q", id, addr)
	}
}

func TestSingleNodeSnapshotCloseAndContext(t *testing.T) {
	cfg := testConfig(t, "solo")
	cfg.BindAddr = "127.0.0.1:0"
	cfg.Peers = []Peer{{ID: "solo", Address: "127.0.0.1:0"}}
	tr, err := raft.NewTCPTransportWithLogger("127.0.0.1:0", nil, 3, time.Second, newHclog(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	cfg.BindAddr = string(tr.LocalAddr())
	cfg.Peers[0].Address = cfg.BindAddr
	n, err := OpenWith(cfg, testLogger(t), Deps{Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "solo leader", n.IsLeader)
	select {
	case v := <-n.LeaderChanges():
		if !v {
			t.Fatal("want true")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no leader change delivered")
	}
	ctx := context.Background()
	if _, err := applyBegin(ctx, n, "t1"); err != nil {
		t.Fatal(err)
	}
	if err := n.Snapshot(); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := applyBegin(cancelled, n, "t2"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled ctx: %v", err)
	}
	if _, err := n.Apply(ctx, pb.CommandType_COMMAND_TYPE_BEGIN, &pb.EnlistCommand{}); err == nil {
		t.Fatal("mismatched message accepted")
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := applyBegin(ctx, n, "t3"); !errors.Is(err, ErrClosed) {
		t.Fatalf("apply after close: %v", err)
	}
	// Reopen: state comes back from the snapshot plus the log after it.
	n, err = Open(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	waitFor(t, "t1 restored", func() bool { _, ok := n.FSM().Get("t1"); return ok })
}

func TestOpenRejectsBadConfig(t *testing.T) {
	if _, err := Open(Config{}, testLogger(t)); err == nil {
		t.Fatal("empty config accepted")
	}
}
