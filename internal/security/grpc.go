package security

import (
	"context"
	"crypto/tls"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// ServerCredentials returns gRPC server credentials over s (mutual TLS).
func (s *Source) ServerCredentials() credentials.TransportCredentials {
	return credentials.NewTLS(s.ServerTLS())
}

// ClientCredentials returns gRPC client credentials that build a fresh TLS
// configuration from s at every handshake, so reloads apply to new
// connections (including reconnects of existing gRPC channels). The
// handshake fails unless the server's certificate names one of wants (see
// Expect: an empty ID accepts any ID of that role).
func (s *Source) ClientCredentials(wants ...Identity) credentials.TransportCredentials {
	return &reloadingCreds{src: s, verify: VerifyPeer(Expect(wants...)), info: credentials.NewTLS(s.ClientTLS("")).Info()}
}

// DialOption returns the transport credentials dial option for a client,
// participant, admin or coordinator dialing a coordinator: the server must
// present a coordinator certificate from the CA. Plaintext when s is nil
// (an explicit --insecure).
func DialOption(s *Source) grpc.DialOption {
	return DialTo(s, Identity{Role: RoleCoordinator})
}

// DialTo is DialOption for a connection to one of wants: the handshake
// fails with ErrWrongPeer unless the server's certificate names the role
// of one of them and, when that one's ID is set, its ID (a coordinator
// dials participant/<id>). Plaintext when s is nil.
func DialTo(s *Source, wants ...Identity) grpc.DialOption {
	if s == nil {
		return grpc.WithTransportCredentials(insecure.NewCredentials())
	}
	return grpc.WithTransportCredentials(s.ClientCredentials(wants...))
}

// ServerOption returns the server credentials option for s, or no option
// (plaintext) when s is nil.
func ServerOption(s *Source) []grpc.ServerOption {
	if s == nil {
		return nil
	}
	return []grpc.ServerOption{grpc.Creds(s.ServerCredentials())}
}

type reloadingCreds struct {
	src        *Source
	serverName string
	verify     func(tls.ConnectionState) error // who the server must be
	info       credentials.ProtocolInfo
}

func (c *reloadingCreds) ClientHandshake(ctx context.Context, authority string, conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	cfg := c.src.ClientTLS(c.serverName)
	cfg.VerifyConnection = c.verify
	return credentials.NewTLS(cfg).ClientHandshake(ctx, authority, conn)
}

func (c *reloadingCreds) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return credentials.NewTLS(c.src.ServerTLS()).ServerHandshake(conn)
}

func (c *reloadingCreds) Info() credentials.ProtocolInfo { return c.info }

func (c *reloadingCreds) Clone() credentials.TransportCredentials {
	cp := *c
	return &cp
}

//nolint:staticcheck // required by the interface
func (c *reloadingCreds) OverrideServerName(name string) error {
	c.serverName = name
	return nil
}
