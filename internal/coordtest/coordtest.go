// Package coordtest runs a real coordinator for participant tests: one
// Raft node (it is its own quorum) on loopback TCP, the coordinator engine
// and its gRPC server in plaintext, in the test process. It is a test
// helper: the participant SDK's tests use it to go through the real
// protocol (enlist, prepare, decide, phase 2, Resolve) instead of a fake.
package coordtest

import (
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/coordinator"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
	"github.com/arbiter-tx/arbiter/raftlog"
)

// Coordinator is a running one-node coordinator cluster.
type Coordinator struct {
	// Addr is the coordinator's gRPC address (participants' Coordinators).
	Addr string
	// Registry holds the coordinator's Prometheus metrics.
	Registry *prometheus.Registry
	// Client is a client SDK connected to Addr.
	Client *client.Client
}

// Start runs a coordinator for t, logging to log, with tweak (may be nil)
// applied to its config; everything stops in t.Cleanup. It waits until the
// node leads.
func Start(t testing.TB, log *zap.Logger, tweak func(*coordinator.Config)) *Coordinator {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	node := openNode(t, log)
	cc := coordinator.DefaultConfig()
	cc.Members = map[string]string{"n1": lis.Addr().String()}
	cc.DialOptions = []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	reg := prometheus.NewRegistry()
	cc.Metrics = coordinator.NewMetrics(reg, node)
	if tweak != nil {
		tweak(&cc)
	}
	co, err := coordinator.New(cc, node, log)
	if err != nil {
		_ = node.Close()
		t.Fatal(err)
	}
	co.Start()
	srv := grpc.NewServer(co.ServerOptions()...)
	arbiterpb.RegisterCoordinatorServer(srv, co)
	go func() { _ = srv.Serve(lis) }()
	cli, err := client.New(client.Config{Addresses: []string{lis.Addr().String()}, ClientID: "coordtest",
		DialOptions: []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cli.Close()
		srv.Stop()
		_ = node.Close()
		co.Close()
	})
	waitLeader(t, node)
	return &Coordinator{Addr: lis.Addr().String(), Registry: reg, Client: cli}
}

// openNode opens a one-voter Raft node in a temporary directory.
func openNode(t testing.TB, log *zap.Logger) *raftlog.Node {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	bind := l.Addr().String()
	_ = l.Close()
	rc := raftlog.DefaultConfig()
	rc.ID, rc.BindAddr, rc.DataDir = "n1", bind, filepath.Join(t.TempDir(), "n1")
	rc.Peers = []raftlog.Peer{{ID: "n1", Address: bind}}
	if store := os.Getenv("ARBITER_TEST_LOG_STORE"); store != "" {
		rc.LogStore = store // as in raftlog's and coordinator's tests
	}
	node, err := raftlog.Open(rc, log)
	if err != nil {
		t.Fatalf("coordtest: open raft node: %v", err)
	}
	return node
}

func waitLeader(t testing.TB, node *raftlog.Node) {
	t.Helper()
	for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if node.IsLeader() {
			return
		}
	}
	t.Fatal("coordtest: the node did not become leader within 15s")
}
