package security_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/arbiter-tx/arbiter/internal/security"
	"github.com/arbiter-tx/arbiter/internal/security/sectest"
)

// serveHealth serves the gRPC health service over mutual TLS with src's
// certificate and returns its address.
func serveHealth(t *testing.T, src *security.Source) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(security.ServerOption(src)...)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(lis) }()
	t.Cleanup(func() {
		srv.Stop()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("health server did not stop")
		}
	})
	return lis.Addr().String()
}

// check calls Health.Check at addr with opt.
func check(t *testing.T, addr string, opt grpc.DialOption) error {
	t.Helper()
	cc, err := grpc.NewClient(addr, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{})
	return err
}

func wantRefused(t *testing.T, what string, err error, msg string) {
	t.Helper()
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), msg) {
		t.Errorf("%s: got %v, want Unavailable mentioning %q", what, err, msg)
	}
}

// A participant (or client) dialing "a coordinator" that presents a
// client certificate fails the handshake with a message saying who answered
// and who was expected; a real coordinator is reached.
func TestDialOptionRequiresCoordinator(t *testing.T) {
	pki := sectest.New(t)
	impostor := serveHealth(t, pki.Source(security.RoleClient, "mallory"))
	coord := serveHealth(t, pki.Source(security.RoleCoordinator, "n1"))
	for _, who := range []security.Identity{{Role: security.RoleParticipant, ID: "p1"}, {Role: security.RoleClient, ID: "c"}} {
		opt := security.DialOption(pki.Source(who.Role, who.ID))
		wantRefused(t, who.String()+" dialing a client's server", check(t, impostor, opt), "peer is arbiter://client/mallory, want any coordinator")
		if err := check(t, coord, opt); err != nil {
			t.Errorf("%s dialing a coordinator: %v", who, err)
		}
	}
}

// A coordinator dialing participant A's address, served by B's
// certificate, fails; dialing B as B works.
func TestDialToChecksParticipantID(t *testing.T) {
	pki := sectest.New(t)
	addr := serveHealth(t, pki.Source(security.RoleParticipant, "b"))
	src := pki.Source(security.RoleCoordinator, "n1")
	a := security.Identity{Role: security.RoleParticipant, ID: "a"}
	wantRefused(t, "dial participant a at b's server", check(t, addr, security.DialTo(src, a)), "peer is arbiter://participant/b, want arbiter://participant/a")
	if err := check(t, addr, security.DialTo(src, security.Identity{Role: security.RoleParticipant, ID: "b"})); err != nil {
		t.Errorf("dial participant b: %v", err)
	}
}

func TestExpectAndMemberCheck(t *testing.T) {
	coord := func(id string) security.Identity { return security.Identity{Role: security.RoleCoordinator, ID: id} }
	part := func(id string) security.Identity { return security.Identity{Role: security.RoleParticipant, ID: id} }
	anyCoord := security.Identity{Role: security.RoleCoordinator}
	for _, c := range []struct {
		check func(security.Identity) error
		got   security.Identity
		want  error
	}{
		{security.Expect(anyCoord), coord("n7"), nil},
		{security.Expect(anyCoord), part("n7"), security.ErrWrongPeer},
		{security.Expect(part("a")), part("a"), nil},
		{security.Expect(part("a")), part("b"), security.ErrWrongPeer},
		{security.Expect(part("a")), coord("a"), security.ErrWrongPeer},
		{security.Expect(anyCoord, part("")), part("x"), nil},
		{security.MemberCheck(func(id string) bool { return id == "n1" }), coord("n1"), nil},
		{security.MemberCheck(func(id string) bool { return id == "n1" }), coord("n9"), security.ErrNotMember},
		{security.MemberCheck(func(string) bool { return true }), part("n1"), security.ErrWrongPeer},
	} {
		if err := c.check(c.got); !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("check(%s) = %v, want %v", c.got, err, c.want)
		}
	}
}

// peerCtx is an incoming call context whose direct peer presented the
// certificate for role/id, carrying md.
func peerCtx(t *testing.T, pki *sectest.PKI, role security.Role, id string, md metadata.MD) context.Context {
	t.Helper()
	b, err := os.ReadFile(pki.Files(role, id).Cert)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	info := credentials.TLSInfo{}
	info.State.VerifiedChains = [][]*x509.Certificate{{cert}}
	ctx := peer.NewContext(context.Background(), &peer.Peer{AuthInfo: info})
	return metadata.NewIncomingContext(ctx, md)
}

// A forwarded caller is believed only from a member coordinator; a
// non-member coordinator is refused with or without the metadata.
func TestCallerTrustsForwardingOnlyFromMembers(t *testing.T) {
	pki := sectest.New(t)
	members := func(id string) bool { return id == "n1" || id == "n2" }
	fwd := metadata.Pairs(security.CallerKey, "arbiter://admin/ops")
	id, tlsOn, err := security.Caller(peerCtx(t, pki, security.RoleCoordinator, "n2", fwd), members)
	if err != nil || !tlsOn || id != (security.Identity{Role: security.RoleAdmin, ID: "ops"}) {
		t.Errorf("member forwarding: %v %v %v", id, tlsOn, err)
	}
	for name, md := range map[string]metadata.MD{"forwarding": fwd, "direct": nil} {
		id, _, err := security.Caller(peerCtx(t, pki, security.RoleCoordinator, "n9", md), members)
		if !errors.Is(err, security.ErrNotMember) {
			t.Errorf("non-member n9 %s: got %v, %v, want ErrNotMember", name, id, err)
		}
	}
	id, _, err = security.Caller(peerCtx(t, pki, security.RoleClient, "c", fwd), members)
	if err != nil || id != (security.Identity{Role: security.RoleClient, ID: "c"}) {
		t.Errorf("a client's metadata must be ignored: %v, %v", id, err)
	}
}
