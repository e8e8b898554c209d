package security_test

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"strings"
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
	cert, err := servedCert(t, server, client)
	if err != nil {
		return security.Identity{}, err
	}
	return security.FromCert(cert)
}

// servedCert connects client to a server over src and returns the
// certificate the server presented.
func servedCert(t *testing.T, server *security.Source, client *security.Source) (*x509.Certificate, error) {
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
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0], nil
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
	before, err := servedCert(t, src, cli)
	if err != nil {
		t.Fatal(err)
	}
	n1 := security.Identity{Role: security.RoleCoordinator, ID: "n1"}
	certPEM, keyPEM, err := pki.CA.Issue(n1, sectest.Loopback, time.Now(), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	replace(t, files, certPEM, keyPEM)
	if err := src.Reload(); err != nil {
		t.Fatal(err)
	}
	after, err := servedCert(t, src, cli)
	if err != nil || after.SerialNumber.Cmp(before.SerialNumber) == 0 {
		t.Fatalf("after reload the server still presents serial %v (%v)", before.SerialNumber, err)
	}
	// A reload renews the certificate; it cannot change who the process is.
	other := pki.Files(security.RoleCoordinator, "n2")
	otherCert, _ := os.ReadFile(other.Cert)
	otherKey, _ := os.ReadFile(other.Key)
	replace(t, files, otherCert, otherKey)
	if err := src.Reload(); err == nil || !strings.Contains(err.Error(), "cannot change who the process is") {
		t.Fatalf("a certificate for another identity reloaded: %v", err)
	}
	if err := os.WriteFile(files.Cert, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := src.Reload(); err == nil {
		t.Fatal("a broken certificate file reloaded")
	}
	if now, err := servedCert(t, src, cli); err != nil || now.SerialNumber.Cmp(after.SerialNumber) != 0 || src.Identity() != n1 {
		t.Fatalf("a failed reload dropped the working certificate: %v %v", src.Identity(), err)
	}
}

// replace overwrites the certificate and key files of f.
func replace(t *testing.T, f security.Files, certPEM, keyPEM []byte) {
	t.Helper()
	for path, b := range map[string][]byte{f.Cert: certPEM, f.Key: keyPEM} {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func TestForeignServerCertificateFailsHandshake(t *testing.T) {
	pki := sectest.New(t)
	server := pki.Source(security.RoleCoordinator, "n1")
	if _, err := handshake(t, server, sectest.New(t).Source(security.RoleClient, "c")); err == nil {
		t.Error("a client trusting another CA accepted the server")
	}
}
