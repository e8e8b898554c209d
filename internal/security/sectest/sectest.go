package sectest

import (
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/internal/security"
)

// Loopback are the SANs every test certificate carries.
var Loopback = []string{"127.0.0.1", "::1", "localhost"}

// PKI is a test CA and the directory its files go to.
type PKI struct {
	t   testing.TB
	Dir string
	CA  *security.CA
}

// New creates a CA in a fresh temporary directory.
func New(t testing.TB) *PKI {
	t.Helper()
	ca, err := security.NewCA("arbiter test CA", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := ca.WriteCA(dir); err != nil {
		t.Fatal(err)
	}
	return &PKI{t: t, Dir: dir, CA: ca}
}

// Files issues a certificate for role/id valid for an hour and returns its
// files.
func (p *PKI) Files(role security.Role, id string) security.Files {
	p.t.Helper()
	f, err := p.CA.WriteIdentity(p.Dir, security.Identity{Role: role, ID: id}, Loopback, time.Hour)
	if err != nil {
		p.t.Fatal(err)
	}
	return f
}

// Source issues a certificate for role/id and loads it.
func (p *PKI) Source(role security.Role, id string) *security.Source {
	p.t.Helper()
	return p.load(p.Files(role, id))
}

// Expired issues a certificate for role/id whose validity ended an hour ago
// and loads it.
func (p *PKI) Expired(role security.Role, id string) *security.Source {
	p.t.Helper()
	ident := security.Identity{Role: role, ID: id}
	now := time.Now()
	certPEM, keyPEM, err := p.CA.Issue(ident, Loopback, now.Add(-2*time.Hour), now.Add(-time.Hour))
	if err != nil {
		p.t.Fatal(err)
	}
	return p.write(ident, "expired", certPEM, keyPEM)
}

func (p *PKI) write(id security.Identity, suffix string, certPEM, keyPEM []byte) *security.Source {
	f := security.FilesFor(p.Dir, id)
	f.Cert, f.Key = f.Cert+"."+suffix, f.Key+"."+suffix
	writeFile(p.t, f.Cert, certPEM)
	writeFile(p.t, f.Key, keyPEM)
	return p.load(f)
}

func (p *PKI) load(f security.Files) *security.Source {
	p.t.Helper()
	src, err := security.Load(f.Cert, f.Key, f.CA)
	if err != nil {
		p.t.Fatal(err)
	}
	return src
}
