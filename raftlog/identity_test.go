package raftlog

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/arbiter-tx/arbiter/internal/security"
	"github.com/arbiter-tx/arbiter/internal/security/sectest"
	pb "github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// newTLSCluster starts size nodes over the production mutual-TLS transport,
// each with a coordinator certificate from pki for its ID.
func newTLSCluster(t *testing.T, pki *sectest.PKI, size int) *cluster {
	t.Helper()
	c := &cluster{t: t}
	var peers []Peer
	for i := 0; i < size; i++ {
		cfg := tlsTestConfig(t, pki, "n"+string(rune('1'+i)))
		c.cfgs = append(c.cfgs, cfg)
		peers = append(peers, Peer{ID: cfg.ID, Address: cfg.BindAddr})
	}
	t.Cleanup(c.closeAll)
	for i := range c.cfgs {
		c.cfgs[i].Peers = peers
		n, err := Open(c.cfgs[i], testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		c.nodes = append(c.nodes, n)
	}
	return c
}

// tlsTestConfig is testConfig over mutual TLS with the default (slower)
// timeouts: handshakes on a loaded 2-core machine outlast 150 ms leases.
func tlsTestConfig(t *testing.T, pki *sectest.PKI, id string) Config {
	cfg := testConfig(t, id)
	def := DefaultConfig()
	cfg.HeartbeatTimeout, cfg.ElectionTimeout, cfg.LeaderLeaseTimeout = def.HeartbeatTimeout, def.ElectionTimeout, def.LeaderLeaseTimeout
	cfg.BindAddr = freeAddr(t)
	cfg.TLS = pki.Source(security.RoleCoordinator, id)
	return cfg
}

// onLeader runs op on the current leader until it does not fail with
// ErrNotLeader (a leader change under load), for at most ten seconds.
func onLeader(t *testing.T, c *cluster, what string, op func(*Node) error) {
	t.Helper()
	var err error
	waitFor(t, what, func() bool {
		err = op(c.nodes[c.leader()])
		return !errors.Is(err, ErrNotLeader)
	})
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// rogueLayer is a raft.StreamLayer that dials with an arbitrary TLS client
// configuration (nil: plaintext TCP) and trusts whatever answers.
type rogueLayer struct {
	net.Listener
	tls *tls.Config
}

func (l *rogueLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	d := &net.Dialer{Timeout: timeout}
	if l.tls == nil {
		return d.Dial("tcp", string(addr))
	}
	return tls.DialWithDialer(d, "tcp", string(addr), l.tls)
}

// rogueAppend sends one AppendEntries with term 1000, as node id, to addr
// over a connection dialed with cfg, and returns the RPC's outcome.
func rogueAppend(t *testing.T, cfg *tls.Config, id, addr string) (*raft.AppendEntriesResponse, error) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	trans := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: &rogueLayer{Listener: lis, tls: cfg}, MaxPool: 1, Timeout: 3 * time.Second,
		Logger: newHclog(testLogger(t)),
	})
	defer func() {
		trans.CloseStreams()
		_ = trans.Close()
	}()
	req := &raft.AppendEntriesRequest{
		RPCHeader: raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte(id), Addr: []byte(lis.Addr().String())},
		Term:      1000, Leader: []byte(lis.Addr().String()),
	}
	var resp raft.AppendEntriesResponse
	err = trans.AppendEntries(raft.ServerID(id), raft.ServerAddress(addr), req, &resp)
	return &resp, err
}

// rogueTLS is a client configuration presenting src's certificate and
// trusting any server certificate (the attacker does not care who answers).
func rogueTLS(src *security.Source) *tls.Config {
	cfg := src.ClientTLS("127.0.0.1")
	cfg.InsecureSkipVerify = true //nolint:gosec // the attacker's side of the test
	return cfg
}

// The Raft port accepts member coordinators only: participant, client and
// admin certificates, a coordinator certificate from another CA, plaintext,
// and a coordinator certificate for a node that is not a member (n9) are
// all refused, and none of them moves the leader's term. A member's
// certificate gets through (the control: the attack RPC itself works).
func TestRaftPortRefusesAllButMemberCoordinators(t *testing.T) {
	pki := sectest.New(t)
	c := newTLSCluster(t, pki, 3)
	li := c.leader()
	leader, addr := c.nodes[li], c.cfgs[li].BindAddr
	term := leader.raft.CurrentTerm()
	refused := map[string]*tls.Config{
		"participant":                  rogueTLS(pki.Source(security.RoleParticipant, "n9")),
		"client":                       rogueTLS(pki.Source(security.RoleClient, "n9")),
		"admin":                        rogueTLS(pki.Source(security.RoleAdmin, "n9")),
		"coordinator from another CA":  rogueTLS(sectest.New(t).Source(security.RoleCoordinator, "n2")),
		"non-member coordinator n9":    rogueTLS(pki.Source(security.RoleCoordinator, "n9")),
		"plaintext":                    nil,
		"no certificate (TLS, no key)": {InsecureSkipVerify: true}, //nolint:gosec // attacker's side
	}
	for name, cfg := range refused {
		resp, err := rogueAppend(t, cfg, "n9", addr)
		if err == nil {
			t.Errorf("%s: AppendEntries with term 1000 got an answer (success=%v, term %d), want the connection refused", name, resp.Success, resp.Term)
		}
	}
	if got := leader.raft.CurrentTerm(); got != term || !leader.IsLeader() {
		t.Fatalf("refused peers moved the leader: term %d -> %d, still leader %v", term, got, leader.IsLeader())
	}
	// Control: a member's certificate reaches Raft, which answers (and,
	// as a real peer would, the higher term deposes the leader).
	member := c.cfgs[(li+1)%3].ID
	if _, err := rogueAppend(t, rogueTLS(pki.Source(security.RoleCoordinator, member)), member, addr); err != nil {
		t.Fatalf("member %s's certificate was refused: %v", member, err)
	}
}

// The dialing side checks too: n1 dials its peer n2's address, finds a
// certificate there that is not n2's role or not a member's (an impostor
// on n2's address), and hangs up without sending a single Raft RPC.
func TestRaftDialRefusesNonMemberServer(t *testing.T) {
	pki := sectest.New(t)
	for _, who := range []security.Identity{
		{Role: security.RoleCoordinator, ID: "n9"}, {Role: security.RoleParticipant, ID: "n2"},
	} {
		t.Run(string(who.Role)+"-"+who.ID, func(t *testing.T) {
			imp := startImpostor(t, pki.Source(who.Role, who.ID))
			cfg := tlsTestConfig(t, pki, "n1")
			cfg.Peers = []Peer{{ID: "n1", Address: cfg.BindAddr}, {ID: "n2", Address: imp.addr}}
			n, err := Open(cfg, testLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			defer n.Close()
			waitFor(t, "n1 to dial n2's address", func() bool { return imp.conns.Load() >= 2 || imp.bytes.Load() > 0 })
			if b := imp.bytes.Load(); b != 0 {
				t.Fatalf("n1 sent %d bytes of Raft RPCs to %s on n2's address", b, who)
			}
		})
	}
}

// impostor serves TLS with a certificate that is not the one its dialers
// expect, and counts the connections and application bytes it receives.
type impostor struct {
	addr         string
	conns, bytes atomic.Int64
}

func startImpostor(t *testing.T, src *security.Source) *impostor {
	t.Helper()
	lis, err := tls.Listen("tcp", "127.0.0.1:0", src.ServerTLS())
	if err != nil {
		t.Fatal(err)
	}
	imp := &impostor{addr: lis.Addr().String()}
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = lis.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := lis.Accept()
			if err != nil {
				return
			}
			imp.conns.Add(1)
			wg.Add(1)
			go imp.drain(&wg, conn)
		}
	}()
	return imp
}

func (imp *impostor) drain(wg *sync.WaitGroup, conn net.Conn) {
	defer wg.Done()
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
	_, _ = io.Copy(countWriter{&imp.bytes}, conn)
}

// countWriter counts what is written to it as it arrives.
type countWriter struct{ n *atomic.Int64 }

func (w countWriter) Write(b []byte) (int, error) {
	w.n.Add(int64(len(b)))
	return len(b), nil
}

// A node that is in neither --peers nor the configuration becomes trusted
// when the leader adds it (before the leader first dials it), replicates,
// and is distrusted again once removed.
func TestRaftTLSAddAndRemoveVoter(t *testing.T) {
	pki := sectest.New(t)
	c := newTLSCluster(t, pki, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	onLeader(t, c, "begin", func(n *Node) error { _, err := applyBegin(ctx, n, "before-join"); return err })
	cfg := tlsTestConfig(t, pki, "n4")
	cfg.Join, cfg.Peers = true, c.cfgs[0].Peers
	n4, err := Open(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	c.cfgs, c.nodes = append(c.cfgs, cfg), append(c.nodes, n4)
	for _, n := range c.nodes[:3] {
		if n.IsMember("n4") {
			t.Fatalf("%s trusts n4 before it was added", n.ID())
		}
	}
	onLeader(t, c, "add n4", func(n *Node) error { return n.AddVoter(ctx, "n4", cfg.BindAddr) })
	c.converged("before-join", pb.TxState_TX_STATE_ACTIVE) // on every node, n4 included
	onLeader(t, c, "remove n4", func(n *Node) error { return n.RemoveServer(ctx, "n4") })
	for _, n := range c.nodes[:3] {
		waitFor(t, n.ID()+" distrusts n4 after its removal", func() bool { return !n.IsMember("n4") })
	}
}

// A node refuses to start with a certificate for another node ID: peers
// admit certificates by the ID they name, so it would act as that node.
func TestOpenRefusesCertificateForAnotherNode(t *testing.T) {
	pki := sectest.New(t)
	for _, src := range []*security.Source{
		pki.Source(security.RoleCoordinator, "n2"), pki.Source(security.RoleParticipant, "n1"),
	} {
		cfg := tlsTestConfig(t, pki, "n1")
		cfg.Peers = []Peer{{ID: "n1", Address: cfg.BindAddr}}
		cfg.TLS = src
		if n, err := Open(cfg, testLogger(t)); !errors.Is(err, security.ErrWrongPeer) {
			if n != nil {
				_ = n.Close()
			}
			t.Errorf("Open with %s's certificate as n1: %v, want ErrWrongPeer", src.Identity(), err)
		}
	}
}
