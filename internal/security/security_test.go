package security_test

import (
	"crypto/tls"
	"net"
	"os"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/internal/security"
	"github.com/arbiter-tx/arbiter/internal/security/sectest"
)

func TestParseIdentity(t *testing.T) {
	good := map[string]security.Identity{
		"arbiter://coordinator/n1":    {Role: security.RoleCoordinator, ID: "n1"},
		"arbiter://participant/bank1": {Role: security.RoleParticipant, ID: "bank1"},
		"arbiter://client/demo":       {Role: security.RoleClient, ID: "demo"},
		"arbiter://admin/alice":       {Role: security.RoleAdmin, ID: "alice"},
	}
	for s, want := range good {
		got, err := security.ParseIdentity(s)
		if err != nil || got != want || got.String() != s {
			t.Errorf("%s: got %v, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "arbiter://root/x", "arbiter://client/", "https://client/x", "arbiter://client/a/b"} {
		if _, err := security.ParseIdentity(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

// handshake connects client to a server over src and returns the identity
// the client saw in the server's certificate.
func handshake(t *testing.T, server *security.Source, client *security.Source) (security.Identity, error) {
	t.Helper()
	lis, err := tls.Listen("tcp", "127.0.0.1:0", server.ServerTLS())
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	go func() {
		c, err := lis.Accept()
		if err == nil {
			_ = c.(*tls.Conn).Handshake()
			_ = c.Close()
		}
	}()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", lis.Addr().String(), client.ClientTLS("127.0.0.1"))
	if err != nil {
		return security.Identity{}, err
	}
	defer conn.Close()
	return security.FromCert(conn.ConnectionState().PeerCertificates[0])
}

// Reload swaps the certificate for new connections without a restart.
func TestReloadServesNewCertificate(t *testing.T) {
	pki := sectest.New(t)
	files := pki.Files(security.RoleCoordinator, "n1")
	src, err := security.Load(files.Cert, files.Key, files.CA)
	if err != nil {
		t.Fatal(err)
	}
	cli := pki.Source(security.RoleClient, "c")
	if id, err := handshake(t, src, cli); err != nil || id.ID != "n1" {
		t.Fatalf("before reload: %v, %v", id, err)
	}
	other := pki.Files(security.RoleCoordinator, "n1-renewed")
	for from, to := range map[string]string{other.Cert: files.Cert, other.Key: files.Key} {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := src.Reload(); err != nil {
		t.Fatal(err)
	}
	if id, err := handshake(t, src, cli); err != nil || id.ID != "n1-renewed" {
		t.Fatalf("after reload: %v, %v", id, err)
	}
	if err := os.WriteFile(files.Cert, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := src.Reload(); err == nil {
		t.Fatal("a broken certificate file reloaded")
	}
	if src.Identity().ID != "n1-renewed" {
		t.Fatal("a failed reload dropped the working certificate")
	}
}

func TestForeignServerCertificateFailsHandshake(t *testing.T) {
	pki := sectest.New(t)
	server := pki.Source(security.RoleCoordinator, "n1")
	if _, err := handshake(t, server, sectest.New(t).Source(security.RoleClient, "c")); err == nil {
		t.Error("a client trusting another CA accepted the server")
	}
}
