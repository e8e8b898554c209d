package coordinator_test

import (
	"fmt"
	"github.com/prometheus/client_golang/prometheus"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/coordinator"
	"github.com/arbiter-tx/arbiter/internal/failpoint"
	"github.com/arbiter-tx/arbiter/internal/security"
	"github.com/arbiter-tx/arbiter/internal/security/sectest"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
	"github.com/arbiter-tx/arbiter/raftlog"
)

// testCluster is three coordinator nodes and some participants, in this
// process, over real TCP on loopback, each with its own data directory.
type testCluster struct {
	t       *testing.T
	peers   []raftlog.Peer
	members map[string]string
	nodes   []*testNode
	parts   map[string]*testParticipant
	fail    *failpoints
	pki     *sectest.PKI // every process holds a certificate from it (mutual TLS)
	links   *linkCuts    // cuts node → participant links (linkcut_test.go)
	tweak   func(*coordinator.Config)
}

type testNode struct {
	id, dir string
	reg     *prometheus.Registry // this node's metrics
	node    *raftlog.Node
	coord   *coordinator.Coordinator
	srv     *grpc.Server
	up      bool
	join    bool          // started with raftlog.Config.Join: never bootstraps
	closed  chan struct{} // closed when the killed coordinator has stopped
}

func newTestCluster(t *testing.T) *testCluster {
	t.Helper()
	return newTestClusterWith(t, nil)
}

// newTestClusterWith is newTestCluster with tweak applied to every node's
// coordinator config.
func newTestClusterWith(t *testing.T, tweak func(*coordinator.Config)) *testCluster {
	t.Helper()
	ports := freePorts(t, 6)
	c := &testCluster{tweak: tweak, t: t, members: map[string]string{}, parts: map[string]*testParticipant{}, fail: newFailpoints(), pki: sectest.New(t), links: newLinkCuts()}
	for i := range 3 {
		id := fmt.Sprintf("n%d", i+1)
		c.peers = append(c.peers, raftlog.Peer{ID: id, Address: fmt.Sprintf("127.0.0.1:%d", ports[2*i])})
		c.members[id] = fmt.Sprintf("127.0.0.1:%d", ports[2*i+1])
	}
	for i := range 3 {
		n := &testNode{id: c.peers[i].ID, dir: filepath.Join(t.TempDir(), c.peers[i].ID)}
		c.nodes = append(c.nodes, n)
		c.startNode(n)
	}
	t.Cleanup(c.stop)
	c.waitLeader()
	return c
}

func (c *testCluster) startNode(n *testNode) {
	c.t.Helper()
	rc := raftlog.DefaultConfig()
	rc.ID, rc.DataDir, rc.Peers = n.id, n.dir, c.peers
	rc.BindAddr = c.peerAddr(n.id)
	rc.Join = n.join
	if store := os.Getenv("ARBITER_TEST_LOG_STORE"); store != "" {
		rc.LogStore = store // ARBITER_TEST_LOG_STORE=wal go test ./coordinator: the harness on raft-wal
	}
	// Twice raft's low-latency defaults: the race detector, two cores and
	// the other test packages running at once can stall a leader past a
	// 250 ms lease, and an election in the middle of a test that is not
	// about elections makes it fail for the wrong reason.
	rc.HeartbeatTimeout, rc.ElectionTimeout, rc.LeaderLeaseTimeout = time.Second, time.Second, 500*time.Millisecond
	src := c.pki.Source(security.RoleCoordinator, n.id)
	rc.TLS = src
	log := zaptest.NewLogger(c.t, zaptest.Level(testLogLevel())).With(zap.String("node", n.id))
	node, err := raftlog.Open(rc, log)
	if err != nil {
		c.t.Fatalf("open raft node %s: %v", n.id, err)
	}
	cc := coordinator.DefaultConfig()
	cc.Members = c.members
	cc.DialOptions = []grpc.DialOption{security.DialOption(src), c.links.dialer(n.id)}
	cc.Failpoint = c.fail.hit(n.id)
	n.reg = prometheus.NewRegistry()
	cc.Metrics = coordinator.NewMetrics(n.reg, node)
	if c.tweak != nil {
		c.tweak(&cc)
	}
	co, err := coordinator.New(cc, node, log)
	if err != nil {
		c.t.Fatal(err)
	}
	co.Start()
	lis := listen(c.t, c.members[n.id])
	srv := grpc.NewServer(append(security.ServerOption(src), co.ServerOptions()...)...)
	arbiterpb.RegisterCoordinatorServer(srv, co)
	arbiterpb.RegisterAdminServer(srv, co.AdminServer())
	go func() { _ = srv.Serve(lis) }()
	n.node, n.coord, n.srv, n.up = node, co, srv, true
}

// kill stops a node abruptly: its server and its Raft node at once; its
// coordinator's goroutines wind down in the background (one may be parked
// at a failpoint until the test releases it).
func (c *testCluster) kill(n *testNode) {
	if !n.up {
		return
	}
	n.up = false
	n.srv.Stop()
	_ = n.node.Close()
	n.closed = make(chan struct{})
	go func(co *coordinator.Coordinator, done chan struct{}) {
		co.Close()
		close(done)
	}(n.coord, n.closed)
}

func (c *testCluster) restart(n *testNode) {
	c.t.Helper()
	if n.closed != nil {
		recv(c.t, n.closed, closeTimeout, "the killed coordinator "+n.id+" to stop")
	}
	c.startNode(n)
}

// closeTimeout bounds how long a killed coordinator may take to stop.
const closeTimeout = 30 * time.Second

func (c *testCluster) stop() {
	c.links.healAll()
	for _, p := range c.parts {
		p.kill()
	}
	for _, n := range c.nodes {
		c.kill(n)
	}
	c.fail.releaseAll()
	for _, n := range c.nodes {
		select {
		case <-n.closed:
		case <-time.After(closeTimeout):
			c.t.Errorf("coordinator %s did not stop within %v", n.id, closeTimeout)
		}
	}
}

func (c *testCluster) peerAddr(id string) string {
	for _, p := range c.peers {
		if p.ID == id {
			return p.Address
		}
	}
	return ""
}

// waitLeader polls until one running node leads and its coordinator has
// caught up (it answers Begin).
func (c *testCluster) waitLeader() *testNode {
	c.t.Helper()
	var leader *testNode
	waitFor(c.t, 15*time.Second, "a leader", func() bool {
		for _, n := range c.nodes {
			if n.up && n.node.IsLeader() {
				leader = n
				return true
			}
		}
		return false
	})
	return leader
}

func (c *testCluster) follower() *testNode {
	leader := c.waitLeader()
	for _, n := range c.nodes {
		if n.up && n != leader {
			return n
		}
	}
	c.t.Fatal("no running follower")
	return nil
}

func (c *testCluster) client(addrs ...string) *client.Client {
	c.t.Helper()
	if len(addrs) == 0 {
		for _, n := range c.nodes {
			addrs = append(addrs, c.members[n.id])
		}
	}
	return c.clientAs("test", addrs...)
}

// clientAs is a client SDK holding a client certificate for id.
func (c *testCluster) clientAs(id string, addrs ...string) *client.Client {
	c.t.Helper()
	if len(addrs) == 0 {
		addrs = c.coordAddrs()
	}
	dial := client.TLSDialOptions(c.pki.Source(security.RoleClient, id))
	cli, err := client.New(client.Config{Addresses: addrs, ClientID: id, DialOptions: dial})
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(cli.Close)
	return cli
}

// adminAs is the Admin API of the node at addr, called with a certificate
// naming role/id (an admin, or another role to test refusals).
func (c *testCluster) adminAs(addr string, role security.Role, id string) arbiterpb.AdminClient {
	c.t.Helper()
	return arbiterpb.NewAdminClient(c.dial(addr, role, id))
}

// addJoiner starts a node in join mode (no bootstrap) with fresh addresses;
// it stays outside the configuration until AddMember adds it.
func (c *testCluster) addJoiner(id string) *testNode {
	c.t.Helper()
	ports := freePorts(c.t, 2)
	c.peers = append(c.peers, raftlog.Peer{ID: id, Address: fmt.Sprintf("127.0.0.1:%d", ports[0])})
	c.members[id] = fmt.Sprintf("127.0.0.1:%d", ports[1])
	n := &testNode{id: id, dir: filepath.Join(c.t.TempDir(), id), join: true}
	c.nodes = append(c.nodes, n)
	c.startNode(n)
	return n
}

func (c *testCluster) coordAddrs() []string {
	var out []string
	for _, n := range c.nodes {
		out = append(out, c.members[n.id])
	}
	return out
}

// dial connects to the coordinator at addr with a certificate naming
// role/id.
func (c *testCluster) dial(addr string, role security.Role, id string) *grpc.ClientConn {
	c.t.Helper()
	return c.dialTo(addr, role, id, security.Identity{Role: security.RoleCoordinator})
}

// dialPart connects to participant p with a certificate naming role/id,
// expecting p's own certificate from the server.
func (c *testCluster) dialPart(p *testParticipant, role security.Role, id string) *grpc.ClientConn {
	c.t.Helper()
	return c.dialTo(p.addr, role, id, security.Identity{Role: security.RoleParticipant, ID: p.id})
}

// dialTo connects to addr with a certificate naming role/id; the handshake
// fails unless the server presents want.
func (c *testCluster) dialTo(addr string, role security.Role, id string, want security.Identity) *grpc.ClientConn {
	c.t.Helper()
	cc, err := grpc.NewClient(addr, security.DialTo(c.pki.Source(role, id), want),
		grpc.WithUnaryInterceptor(client.UnaryClientInterceptor()))
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { _ = cc.Close() })
	return cc
}

func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		_ = l.Close()
	}
	return ports
}

func listen(t *testing.T, addr string) net.Listener {
	t.Helper()
	var lis net.Listener
	waitFor(t, 5*time.Second, "listen on "+addr, func() bool {
		var err error
		lis, err = net.Listen("tcp", addr)
		return err == nil
	})
	return lis
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// hitTimeout bounds every wait for a failpoint arrival.
const hitTimeout = 20 * time.Second

// waitHit waits for one arrival at an armed failpoint and returns its tx
// ID; the test fails if none comes within hitTimeout.
func waitHit(t *testing.T, hits <-chan string, what string) string {
	t.Helper()
	return recv(t, hits, hitTimeout, "failpoint "+what)
}

// recv receives one value from ch, failing the test after d.
func recv[T any](t *testing.T, ch <-chan T, d time.Duration, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(d):
		t.Fatalf("timed out after %v waiting for %s", d, what)
	}
	var zero T
	return zero
}

// failpoints lets a test block a node at a named crash point.
type failpoints struct {
	mu      sync.Mutex
	armed   map[string]chan struct{} // name -> released when closed
	hits    map[string]chan string   // name -> tx IDs that reached it
	release chan struct{}
}

func newFailpoints() *failpoints {
	return &failpoints{armed: map[string]chan struct{}{}, hits: map[string]chan string{}, release: make(chan struct{})}
}

// arm makes arrivals of node at name block until releaseAll, and reports
// each arrival's tx ID on the returned channel.
func (f *failpoints) arm(node string, p failpoint.Point) <-chan string {
	f.mu.Lock()
	defer f.mu.Unlock()
	name := node + "/" + string(p)
	f.armed[name] = f.release
	f.hits[name] = make(chan string, 16)
	return f.hits[name]
}

func (f *failpoints) hit(node string) func(p failpoint.Point, txID string) {
	return func(p failpoint.Point, txID string) {
		name := node + "/" + string(p)
		f.mu.Lock()
		block, ok := f.armed[name]
		hits := f.hits[name]
		f.mu.Unlock()
		if !ok {
			return
		}
		select {
		case hits <- txID:
		default:
		}
		<-block
	}
}

func (f *failpoints) releaseAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	select {
	case <-f.release:
	default:
		close(f.release)
	}
	f.armed = map[string]chan struct{}{}
}

// testLogLevel is warn unless ARBITER_TEST_LOG names another level.
func testLogLevel() zapcore.Level {
	lvl, err := zapcore.ParseLevel(os.Getenv("ARBITER_TEST_LOG"))
	if err != nil || os.Getenv("ARBITER_TEST_LOG") == "" {
		return zapcore.WarnLevel
	}
	return lvl
}
