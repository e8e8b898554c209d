package security

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"

	"go.uber.org/zap"
)

// Source holds a certificate, its key and the CA pool that peers must
// chain to, read from PEM files. Reload re-reads the files; every TLS
// configuration made by a Source reads the current material at each
// handshake, so a reload takes effect for new connections without a
// restart. Existing connections keep the certificate they were made with.
type Source struct {
	certFile, keyFile, caFile string
	cur                       atomic.Pointer[material]
}

type material struct {
	cert  tls.Certificate
	pool  *x509.CertPool
	ident Identity
}

// Load reads certFile, keyFile and caFile (PEM). The certificate must carry
// an arbiter:// URI SAN naming this process's identity.
func Load(certFile, keyFile, caFile string) (*Source, error) {
	if certFile == "" || keyFile == "" || caFile == "" {
		return nil, errors.New("security: --tls-cert, --tls-key and --tls-ca are all required (or pass --insecure for plaintext)")
	}
	s := &Source{certFile: certFile, keyFile: keyFile, caFile: caFile}
	if err := s.Reload(); err != nil {
		return nil, err
	}
	return s, nil
}

// Reload re-reads the files. On error the previous material stays in use;
// a certificate naming another identity than the current one is an error.
func (s *Source) Reload() error {
	m, err := readMaterial(s.certFile, s.keyFile, s.caFile)
	if err != nil {
		return err
	}
	if cur := s.cur.Load(); cur != nil && m.ident != cur.ident {
		return fmt.Errorf("security: reload: %s names %s but this process is %s: a reload renews the certificate, it cannot change who the process is (restart to do that)",
			s.certFile, m.ident, cur.ident)
	}
	s.cur.Store(m)
	return nil
}

func readMaterial(certFile, keyFile, caFile string) (*material, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("security: load key pair %s, %s: %w", certFile, keyFile, err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("security: parse %s: %w", certFile, err)
	}
	cert.Leaf = leaf
	ident, err := FromCert(leaf)
	if err != nil {
		return nil, fmt.Errorf("security: %s: %w", certFile, err)
	}
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("security: read CA %s: %w", caFile, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("security: %s holds no PEM certificate", caFile)
	}
	return &material{cert: cert, pool: pool, ident: ident}, nil
}

// Identity is the identity in this process's current certificate.
func (s *Source) Identity() Identity { return s.cur.Load().ident }

// ServerTLS returns a server configuration that requires and verifies a
// client certificate against the current CA, presenting the current
// certificate. It is read afresh at every handshake.
func (s *Source) ServerTLS() *tls.Config { return s.serverTLS(nil) }

// PeerTLS returns server and client configurations that, on top of the CA
// check, run check on the other end's identity (the Raft transport accepts
// and dials member coordinators only: see MemberCheck).
func (s *Source) PeerTLS(check func(Identity) error) (server *tls.Config, client func(serverName string) *tls.Config) {
	verify := VerifyPeer(check)
	client = func(serverName string) *tls.Config {
		c := s.ClientTLS(serverName)
		c.VerifyConnection = verify
		return c
	}
	return s.serverTLS(verify), client
}

// VerifyPeer adapts an identity check to tls.Config.VerifyConnection: the
// peer's verified certificate must name an identity that check accepts.
func VerifyPeer(check func(Identity) error) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
			return fmt.Errorf("%w: no verified peer certificate", ErrNoIdentity)
		}
		id, err := FromCert(cs.VerifiedChains[0][0])
		if err != nil {
			return err
		}
		return check(id)
	}
}

// RequireRole returns a tls.Config.VerifyConnection check that the peer's
// verified certificate names role.
func RequireRole(role Role) func(tls.ConnectionState) error {
	return VerifyPeer(Expect(Identity{Role: role}))
}

// Expect returns an identity check that accepts only the identities in
// wants: one matches when its role is the peer's and its ID is empty (any
// ID of that role) or the peer's.
func Expect(wants ...Identity) func(Identity) error {
	return func(got Identity) error {
		for _, w := range wants {
			if got.Role == w.Role && (w.ID == "" || got.ID == w.ID) {
				return nil
			}
		}
		return fmt.Errorf("%w: peer is %s, want %s", ErrWrongPeer, got, describe(wants))
	}
}

// MemberCheck returns an identity check that accepts a coordinator whose
// node ID isMember accepts (a member of this cluster), and nothing else.
func MemberCheck(isMember func(nodeID string) bool) func(Identity) error {
	return func(got Identity) error {
		if got.Role != RoleCoordinator {
			return fmt.Errorf("%w: peer is %s, want a coordinator of this cluster", ErrWrongPeer, got)
		}
		if !isMember(got.ID) {
			return fmt.Errorf("%w: %s", ErrNotMember, got)
		}
		return nil
	}
}

func describe(wants []Identity) string {
	s := make([]string, len(wants))
	for i, w := range wants {
		s[i] = w.String()
		if w.ID == "" {
			s[i] = "any " + string(w.Role)
		}
	}
	return strings.Join(s, " or ")
}

func (s *Source) serverTLS(verify func(tls.ConnectionState) error) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			m := s.cur.Load()
			return &tls.Config{
				MinVersion:   tls.VersionTLS12,
				Certificates: []tls.Certificate{m.cert},
				ClientCAs:    m.pool,
				ClientAuth:   tls.RequireAndVerifyClientCert,
				NextProtos:   []string{"h2"},

				VerifyConnection: verify,
			}, nil
		},
	}
}

// ClientTLS returns a client configuration over the current material, to
// dial serverName (a host name or IP that the server's certificate names).
// The certificate presented follows reloads; the CA pool is the one current
// when ClientTLS is called (gRPC credentials call it per handshake).
func (s *Source) ClientTLS(serverName string) *tls.Config {
	m := s.cur.Load()
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		ServerName: serverName,
		RootCAs:    m.pool,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			c := s.cur.Load().cert
			return &c, nil
		},
	}
}

// WatchSIGHUP reloads the files on every SIGHUP until ctx is done, logging
// the outcome. A failed reload keeps the old material.
func (s *Source) WatchSIGHUP(ctx context.Context, log *zap.Logger) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	go func() {
		defer signal.Stop(ch)
		for {
			select {
			case <-ctx.Done():
				return
			case <-ch:
				if err := s.Reload(); err != nil {
					log.Error("TLS reload failed; keeping the previous certificate", zap.Error(err))
					continue
				}
				log.Info("TLS certificate reloaded", zap.String("identity", s.Identity().String()),
					zap.Time("not-after", s.cur.Load().cert.Leaf.NotAfter))
			}
		}
	}()
}
