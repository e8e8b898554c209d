package client

import (
	"google.golang.org/grpc"

	"github.com/arbiter-tx/arbiter/internal/security"
)

// TLS is a certificate source for mutual TLS: a certificate and key whose
// URI SAN names this process (arbiter://client/<id>), and the CA the
// coordinators' certificates chain to. Reload (or WatchSIGHUP) re-reads the
// files; new connections use the new certificate.
type TLS = security.Source

// LoadTLS reads a certificate, its key and the CA certificate (PEM files).
func LoadTLS(certFile, keyFile, caFile string) (*TLS, error) {
	return security.Load(certFile, keyFile, caFile)
}

// TLSDialOptions returns Config.DialOptions for mutual TLS over src. A nil
// src gives no options, so New fails with ErrNoCredentials unless
// Config.Insecure asks for plaintext.
func TLSDialOptions(src *TLS) []grpc.DialOption {
	if src == nil {
		return nil
	}
	return []grpc.DialOption{security.DialOption(src)}
}
