package security

import (
	"context"
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
// connections (including reconnects of existing gRPC channels).
func (s *Source) ClientCredentials() credentials.TransportCredentials {
	return &reloadingCreds{src: s, info: credentials.NewTLS(s.ClientTLS("")).Info()}
}

// DialOption returns the transport credentials dial option for s, or
// plaintext when s is nil (an explicit --insecure).
func DialOption(s *Source) grpc.DialOption {
	if s == nil {
		return grpc.WithTransportCredentials(insecure.NewCredentials())
	}
	return grpc.WithTransportCredentials(s.ClientCredentials())
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
	info       credentials.ProtocolInfo
}

func (c *reloadingCreds) ClientHandshake(ctx context.Context, authority string, conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return credentials.NewTLS(c.src.ClientTLS(c.serverName)).ClientHandshake(ctx, authority, conn)
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
