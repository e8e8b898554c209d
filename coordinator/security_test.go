package coordinator_test

import (
	"crypto/rand"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/arbiter-tx/arbiter/coordinator"
	"github.com/arbiter-tx/arbiter/internal/security"
	"github.com/arbiter-tx/arbiter/internal/security/sectest"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

func wantCode(t *testing.T, what string, err error, code codes.Code, msg string) {
	t.Helper()
	st, _ := status.FromError(err)
	if st.Code() != code || !strings.Contains(st.Message(), msg) {
		t.Errorf("%s: got %v %q, want %v containing %q", what, st.Code(), st.Message(), code, msg)
	}
}

// A connection without a certificate the cluster trusts never reaches a
// handler: plaintext, a certificate from another CA, an expired one.
func TestUntrustedConnectionsAreRefused(t *testing.T) {
	c := newTestCluster(t)
	a := c.addParticipant("a")
	leader := c.waitLeader()
	before := snapshotTable(leader)
	other := sectest.New(t) // another CA
	dials := map[string]grpc.DialOption{
		"plaintext":                   grpc.WithTransportCredentials(insecure.NewCredentials()),
		"certificate from another CA": security.DialOption(other.Source(security.RoleAdmin, "admin")),
		"expired certificate":         security.DialOption(c.pki.Expired(security.RoleAdmin, "admin")),
	}
	for name, opt := range dials {
		for _, addr := range []string{c.members[leader.id], a.addr} {
			cc, err := grpc.NewClient(addr, opt)
			if err != nil {
				t.Fatal(err)
			}
			ctx := ctxT(t, 3*time.Second)
			_, err = arbiterpb.NewCoordinatorClient(cc).Begin(ctx, &arbiterpb.BeginRequest{})
			if status.Code(err) != codes.Unavailable {
				t.Errorf("%s to coordinator at %s: Begin got %v, want Unavailable (handshake refused)", name, addr, err)
			}
			_, err = arbiterpb.NewParticipantClient(cc).Commit(ctx, &arbiterpb.DecisionRequest{TxId: "x", Term: 99})
			if status.Code(err) != codes.Unavailable {
				t.Errorf("%s to %s: participant Commit got %v, want Unavailable", name, addr, err)
			}
			_ = cc.Close()
		}
	}
	if after := snapshotTable(leader); !proto.Equal(after, before) {
		t.Fatalf("refused connections changed the table:\nbefore %v\nafter  %v", before, after)
	}
}

// A client acts only on transactions it began, whichever node it asks;
// the client ID recorded is the certificate's, not the one in the request.
func TestClientCannotTouchAnotherClientsTransaction(t *testing.T) {
	c := newTestCluster(t)
	a := c.addParticipant("a")
	leader := c.waitLeader()
	ctx := ctxT(t, 20*time.Second)
	alice := arbiterpb.NewCoordinatorClient(c.dial(c.members[leader.id], security.RoleClient, "alice"))
	begun, err := alice.Begin(ctx, &arbiterpb.BeginRequest{ClientId: "mallory"})
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := leader.node.FSM().Get(begun.TxId)
	if rec.GetClientId() != "alice" {
		t.Fatalf("recorded client %q, want alice (from the certificate)", rec.GetClientId())
	}
	before := snapshotTable(leader)
	for _, n := range c.nodes { // the leader, and followers that forward
		bob := arbiterpb.NewCoordinatorClient(c.dial(c.members[n.id], security.RoleClient, "bob"))
		_, err := bob.Abort(ctx, &arbiterpb.AbortRequest{TxId: begun.TxId})
		wantCode(t, n.id+": bob aborts alice's tx", err, codes.PermissionDenied, "begun by another client")
		_, err = bob.Commit(ctx, &arbiterpb.CommitRequest{TxId: begun.TxId, Branches: []*arbiterpb.Branch{a.branch(1)}})
		wantCode(t, n.id+": bob commits alice's tx", err, codes.PermissionDenied, "begun by another client")
		_, err = bob.Status(ctx, &arbiterpb.StatusRequest{TxId: begun.TxId})
		wantCode(t, n.id+": bob reads alice's tx", err, codes.PermissionDenied, "begun by another client")
	}
	if a.calls.Load() != 0 {
		t.Fatal("bob's commit ran a participant's handler")
	}
	if after := snapshotTable(leader); !proto.Equal(after, before) {
		t.Fatalf("bob's refused calls changed the table:\nbefore %v\nafter  %v", before, after)
	}
	// Through a follower, alice is still alice (the follower names her).
	f := c.follower()
	viaF := arbiterpb.NewCoordinatorClient(c.dial(c.members[f.id], security.RoleClient, "alice"))
	out, err := viaF.Commit(ctx, &arbiterpb.CommitRequest{TxId: begun.TxId, Branches: []*arbiterpb.Branch{a.branch(5)}})
	if err != nil || out.GetOutcome() != arbiterpb.Outcome_OUTCOME_COMMIT {
		t.Fatalf("alice commits her own tx through follower %s: %v, %v", f.id, out, err)
	}
	admin := arbiterpb.NewCoordinatorClient(c.dial(c.members[f.id], security.RoleAdmin, "ops"))
	if _, err := admin.Status(ctx, &arbiterpb.StatusRequest{TxId: begun.TxId}); err != nil {
		t.Fatalf("an admin reads any transaction: %v", err)
	}
}

// A participant's certificate only speaks for that participant, and opens
// no client or admin API.
func TestParticipantIdentityIsConfinedToItself(t *testing.T) {
	c := newTestCluster(t)
	c.addParticipant("a")
	c.addParticipant("b")
	leader := c.waitLeader()
	ctx := ctxT(t, 20*time.Second)
	tx, err := c.client().Begin(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	before := snapshotTable(leader)
	for _, n := range c.nodes {
		asA := arbiterpb.NewCoordinatorClient(c.dial(c.members[n.id], security.RoleParticipant, "a"))
		_, err := asA.Enlist(ctx, &arbiterpb.EnlistRequest{TxId: tx, ParticipantId: "b"})
		wantCode(t, n.id+": a enlists as b", err, codes.PermissionDenied, `only as participant "a"`)
		_, err = asA.Resolve(ctx, &arbiterpb.ResolveRequest{TxId: tx, ParticipantId: "b"})
		wantCode(t, n.id+": a resolves as b", err, codes.PermissionDenied, `only as participant "a"`)
		_, err = asA.Register(ctx, &arbiterpb.RegisterRequest{ParticipantId: "b", Address: "127.0.0.1:1"})
		wantCode(t, n.id+": a re-registers b", err, codes.PermissionDenied, `only as participant "a"`)
		_, err = asA.Cluster(ctx, &arbiterpb.ClusterRequest{})
		wantCode(t, n.id+": a calls Cluster", err, codes.PermissionDenied, "allowed roles: admin")
		_, err = asA.ListTransactions(ctx, &arbiterpb.ListTransactionsRequest{})
		wantCode(t, n.id+": a lists transactions", err, codes.PermissionDenied, "allowed roles: admin")
		_, err = asA.Begin(ctx, &arbiterpb.BeginRequest{})
		wantCode(t, n.id+": a begins", err, codes.PermissionDenied, "client or admin")
		_, err = asA.Abort(ctx, &arbiterpb.AbortRequest{TxId: tx})
		wantCode(t, n.id+": a aborts", err, codes.PermissionDenied, "client or admin")
		cli := arbiterpb.NewCoordinatorClient(c.dial(c.members[n.id], security.RoleClient, "test"))
		_, err = cli.Cluster(ctx, &arbiterpb.ClusterRequest{})
		wantCode(t, n.id+": a client calls Cluster", err, codes.PermissionDenied, "allowed roles: admin")
		_, err = cli.Enlist(ctx, &arbiterpb.EnlistRequest{TxId: tx, ParticipantId: "a"})
		wantCode(t, n.id+": a client enlists", err, codes.PermissionDenied, "allowed roles: participant")
	}
	if after := snapshotTable(leader); !proto.Equal(after, before) {
		t.Fatalf("refused calls changed the table:\nbefore %v\nafter  %v", before, after)
	}
	admin := arbiterpb.NewCoordinatorClient(c.dial(c.members[leader.id], security.RoleAdmin, "ops"))
	if _, err := admin.Cluster(ctx, &arbiterpb.ClusterRequest{}); err != nil {
		t.Fatalf("admin Cluster: %v", err)
	}
}

// Only coordinators may drive a participant's phase 2; Inspect needs an
// admin (or coordinator) identity.
func TestNonCoordinatorCannotDriveParticipant(t *testing.T) {
	c := newTestCluster(t)
	a, b := c.addParticipant("a"), c.addParticipant("b")
	ctx := ctxT(t, 20*time.Second)
	tx, err := c.client().Begin(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, who := range []struct {
		role security.Role
		id   string
	}{{security.RoleParticipant, "b"}, {security.RoleClient, "test"}, {security.RoleAdmin, "ops"}} {
		pc := arbiterpb.NewParticipantClient(c.dialPart(a, who.role, who.id))
		name := string(who.role) + "/" + who.id
		_, err := pc.Prepare(ctx, &arbiterpb.PrepareRequest{TxId: tx, Payload: a.branch(1).Payload, Term: 1})
		wantCode(t, name+" prepares at a", err, codes.PermissionDenied, "only from [coordinator]")
		_, err = pc.Commit(ctx, &arbiterpb.DecisionRequest{TxId: tx, Term: 1 << 40})
		wantCode(t, name+" commits at a", err, codes.PermissionDenied, "only from [coordinator]")
		_, err = pc.Abort(ctx, &arbiterpb.DecisionRequest{TxId: tx, Term: 1 << 40})
		wantCode(t, name+" aborts at a", err, codes.PermissionDenied, "only from [coordinator]")
	}
	pc := arbiterpb.NewParticipantClient(c.dialPart(a, security.RoleParticipant, "b"))
	_, err = pc.Inspect(ctx, &arbiterpb.InspectRequest{})
	wantCode(t, "b inspects a", err, codes.PermissionDenied, "only from [coordinator admin]")
	admin := arbiterpb.NewParticipantClient(c.dialPart(a, security.RoleAdmin, "ops"))
	resp, err := admin.Inspect(ctx, &arbiterpb.InspectRequest{})
	if err != nil || resp.GetHighestTerm() >= 1<<40 {
		t.Fatalf("admin Inspect: %v, %v (a refused call must not have raised the term)", resp, err)
	}
	if a.calls.Load() != 0 || a.prepared() != 0 || a.state(tx) != 0 {
		t.Fatalf("refused calls changed participant a: %d handler runs, %d prepared", a.calls.Load(), a.prepared())
	}
	out, err := c.client().Commit(ctx, tx, a.branch(-1), b.branch(1))
	if err != nil || out != arbiterpb.Outcome_OUTCOME_COMMIT {
		t.Fatalf("the real coordinators still commit: %v, %v", out, err)
	}
}

// Past MaxInFlight undecided transactions Begin and a one-shot Commit are
// refused with a clear RESOURCE_EXHAUSTED and change nothing; the nodes stay
// healthy (what the gRPC health service reports: a known leader, the log
// applied) and admit again once load drops.
func TestMaxInFlightRefusesBeginClearly(t *testing.T) {
	c := newTestClusterWith(t, func(cfg *coordinator.Config) { cfg.MaxInFlight = 2 })
	a := c.addParticipant("a")
	leader := c.waitLeader()
	cli := c.client()
	ctx := ctxT(t, 20*time.Second)
	tx1, err1 := cli.Begin(ctx, 0)
	_, err2 := cli.Begin(ctx, 0)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	before := snapshotTable(leader)
	_, err := cli.Begin(ctx, 0)
	wantCode(t, "third Begin", err, codes.ResourceExhausted, "limit 2, --max-in-flight")
	raw := arbiterpb.NewCoordinatorClient(c.dial(c.members[leader.id], security.RoleClient, "test"))
	oneShot := &arbiterpb.CommitRequest{OneShot: true, Branches: []*arbiterpb.Branch{a.branch(1)}}
	_, err = raw.Commit(ctx, oneShot)
	wantCode(t, "one-shot Commit over the limit", err, codes.ResourceExhausted, "limit 2, --max-in-flight")
	if after := snapshotTable(leader); !proto.Equal(after, before) || a.calls.Load() != 0 {
		t.Fatalf("refused calls changed something (%d handler runs):\nbefore %v\nafter  %v", a.calls.Load(), before, after)
	}
	for _, n := range c.nodes {
		if st := n.node.Stats(); st.LeaderID == "" || st.AppliedIndex < st.CommitIndex {
			t.Fatalf("node %s unhealthy while over the limit: %+v", n.id, st)
		}
	}
	if _, err := cli.Abort(ctx, tx1); err != nil {
		t.Fatalf("the node must keep serving other calls: %v", err)
	}
	if out, err := raw.Commit(ctx, oneShot); err != nil || out.GetOutcome() != arbiterpb.Outcome_OUTCOME_COMMIT {
		t.Fatalf("one-shot Commit after one tx was decided: %v, %v", out, err)
	}
	if _, err := cli.Begin(ctx, 0); err != nil {
		t.Fatalf("Begin after one tx was decided: %v", err)
	}
}

// More participants than MaxBranches are refused with INVALID_ARGUMENT and
// change nothing: as branches of a Commit (by ID or one-shot), and when
// participants that enlisted themselves plus the Commit's branches go over.
func TestMaxBranchesRefusedClearly(t *testing.T) {
	c := newTestClusterWith(t, func(cfg *coordinator.Config) { cfg.MaxBranches = 2 })
	a, b, p3 := c.addParticipant("a"), c.addParticipant("b"), c.addParticipant("c")
	leader := c.waitLeader()
	ctx := ctxT(t, 20*time.Second)
	raw := arbiterpb.NewCoordinatorClient(c.dial(c.members[leader.id], security.RoleClient, "test"))
	tx, err := c.client().Begin(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	three := []*arbiterpb.Branch{a.branch(-1), b.branch(1), p3.branch(0)}
	before := snapshotTable(leader)
	_, err = raw.Commit(ctx, &arbiterpb.CommitRequest{TxId: tx, Branches: three})
	wantCode(t, "commit with three branches", err, codes.InvalidArgument, "3 branches exceeds the limit of 2")
	_, err = raw.Commit(ctx, &arbiterpb.CommitRequest{OneShot: true, Branches: three})
	wantCode(t, "one-shot commit with three branches", err, codes.InvalidArgument, "3 branches exceeds the limit of 2")
	for _, id := range []string{"a", "b"} {
		self := arbiterpb.NewCoordinatorClient(c.dial(c.members[leader.id], security.RoleParticipant, id))
		if _, err := self.Enlist(ctx, &arbiterpb.EnlistRequest{TxId: tx, ParticipantId: id}); err != nil {
			t.Fatalf("%s enlists: %v", id, err)
		}
	}
	enlisted := snapshotTable(leader)
	third := arbiterpb.NewCoordinatorClient(c.dial(c.members[leader.id], security.RoleParticipant, "c"))
	_, err = third.Enlist(ctx, &arbiterpb.EnlistRequest{TxId: tx, ParticipantId: "c"})
	wantCode(t, "a third enlistment", err, codes.InvalidArgument, "already has 2 participants, the limit")
	_, err = raw.Commit(ctx, &arbiterpb.CommitRequest{TxId: tx, Branches: []*arbiterpb.Branch{p3.branch(0)}})
	wantCode(t, "two enlisted plus one branch", err, codes.InvalidArgument, "3 participants exceeds the limit of 2")
	if after := snapshotTable(leader); !proto.Equal(after, enlisted) || a.calls.Load()+b.calls.Load()+p3.calls.Load() != 0 {
		t.Fatalf("refused commits changed something:\nbefore %v\nafter  %v", enlisted, after)
	}
	if proto.Equal(enlisted, before) {
		t.Fatal("the enlistments did not reach the table")
	}
	tx2, err := c.client().Begin(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := c.client().Commit(ctx, tx2, a.branch(-1), b.branch(1)); err != nil || out != arbiterpb.Outcome_OUTCOME_COMMIT {
		t.Fatalf("a commit within the limit: %v, %v", out, err)
	}
}

// A request over the message limit is refused by gRPC before any handler
// runs, and the node keeps serving.
func TestOversizedMessageRefused(t *testing.T) {
	c := newTestCluster(t)
	a := c.addParticipant("a")
	leader := c.waitLeader()
	ctx := ctxT(t, 20*time.Second)
	tx, err := c.client().Begin(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	before := snapshotTable(leader)
	cc := arbiterpb.NewCoordinatorClient(c.dial(c.members[leader.id], security.RoleClient, "test"))
	huge := make([]byte, coordinator.DefaultConfig().MaxMessageBytes+1)
	_, err = cc.Commit(ctx, &arbiterpb.CommitRequest{TxId: tx, Branches: []*arbiterpb.Branch{{ParticipantId: "a", Payload: huge}}},
		grpc.MaxCallSendMsgSize(len(huge)+1024))
	wantCode(t, "oversized commit", err, codes.ResourceExhausted, "larger than max")
	if after := snapshotTable(leader); !proto.Equal(after, before) || a.calls.Load() != 0 {
		t.Fatalf("an oversized request changed something")
	}
	if out, err := c.client().Commit(ctx, tx, a.branch(1)); err != nil || out != arbiterpb.Outcome_OUTCOME_COMMIT {
		t.Fatalf("commit after the oversized request: %v, %v", out, err)
	}
}

// Junk on every port (gRPC and Raft, coordinators and participants):
// random bytes, half-open TLS handshakes, connections that say nothing.
// Every node stays up and the cluster still commits.
func TestNodesSurviveJunkConnections(t *testing.T) {
	c := newTestCluster(t)
	a, b := c.addParticipant("a"), c.addParticipant("b")
	var ports []string
	for _, n := range c.nodes {
		ports = append(ports, c.members[n.id], c.peerAddr(n.id))
	}
	ports = append(ports, a.addr, b.addr)
	var held []net.Conn
	defer func() {
		for _, conn := range held {
			_ = conn.Close()
		}
	}()
	for _, addr := range ports {
		for i := range 20 {
			conn, err := net.DialTimeout("tcp", addr, time.Second)
			if err != nil {
				t.Fatalf("dial %s: %v", addr, err)
			}
			switch i % 4 {
			case 0: // random bytes, then hang up
				junk := make([]byte, 1+i*97)
				_, _ = rand.Read(junk)
				_, _ = conn.Write(junk)
				_ = conn.Close()
			case 1: // connect and say nothing (held open)
				held = append(held, conn)
			case 2: // a TLS client that sends its hello and never finishes
				_, _ = conn.Write(partialClientHello(t))
				held = append(held, conn)
			case 3: // a full TLS handshake without a client certificate
				tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // junk on purpose
				_ = tc.SetDeadline(time.Now().Add(2 * time.Second))
				_ = tc.Handshake()
				_, _ = tc.Write([]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\njunk"))
				_ = tc.Close()
			}
		}
	}
	ctx := ctxT(t, 30*time.Second)
	cli := c.client()
	for i := range 3 {
		tx, err := cli.Begin(ctx, 0)
		if err != nil {
			t.Fatalf("begin %d after junk: %v", i, err)
		}
		if out, err := cli.Commit(ctx, tx, a.branch(-1), b.branch(1)); err != nil || out != arbiterpb.Outcome_OUTCOME_COMMIT {
			t.Fatalf("commit %d after junk: %v, %v", i, out, err)
		}
	}
	for _, n := range c.nodes {
		if !n.up || n.node.Stats().LeaderID == "" {
			t.Fatalf("node %s lost the cluster after junk connections", n.id)
		}
	}
}

// partialClientHello returns the first bytes of a real TLS ClientHello.
func partialClientHello(t *testing.T) []byte {
	t.Helper()
	client, server := net.Pipe()
	defer client.Close()
	defer server.Close()
	go func() {
		_ = tls.Client(client, &tls.Config{InsecureSkipVerify: true}).Handshake() //nolint:gosec // junk on purpose
	}()
	buf := make([]byte, 4096)
	_ = server.SetReadDeadline(time.Now().Add(time.Second))
	n, err := server.Read(buf)
	if err != nil || n < 10 {
		t.Fatalf("capture a ClientHello: %d bytes, %v", n, err)
	}
	return buf[:n/2]
}
