package raftlog

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/arbiter-tx/arbiter/internal/security"
)

// handshakeTimeout bounds an accepted connection's TLS handshake, so a peer
// that connects and stalls (or sends junk) costs one short-lived goroutine.
const handshakeTimeout = 5 * time.Second

// tlsStreamLayer is a raft.StreamLayer over mutual TLS: both ends must
// present a certificate from the cluster CA naming a coordinator that is a
// member of the cluster (peerTrust), on accept and on dial.
type tlsStreamLayer struct {
	net.Listener
	advertise net.Addr
	server    *tls.Config
	client    func(serverName string) *tls.Config
}

func newTLSTransport(cfg Config, trust *peerTrust, hl hclog.Logger) (*raft.NetworkTransport, error) {
	if own, want := cfg.TLS.Identity(), (security.Identity{Role: security.RoleCoordinator, ID: cfg.ID}); own != want {
		// Peers admit a certificate by the node ID it names: this one
		// would act as another node, or be refused as a non-member.
		return nil, fmt.Errorf("raftlog: this node's certificate names %s, want %s: %w; issue one for this node ID", own, want, security.ErrWrongPeer)
	}
	adv, err := net.ResolveTCPAddr("tcp", cfg.advertise())
	if err != nil {
		return nil, fmt.Errorf("raftlog: advertise address %q: %w", cfg.advertise(), err)
	}
	lis, err := net.Listen("tcp", cfg.BindAddr)
	if err != nil {
		return nil, fmt.Errorf("raftlog: listen on %q: %w", cfg.BindAddr, err)
	}
	server, client := cfg.TLS.PeerTLS(trust.check)
	layer := &tlsStreamLayer{Listener: lis, advertise: adv, server: server, client: client}
	return raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: layer, MaxPool: 3, Timeout: 10 * time.Second, Logger: hl,
	}), nil
}

// Accept returns the next connection; its handshake runs on first use, in
// the transport's per-connection goroutine, bounded by handshakeTimeout.
func (l *tlsStreamLayer) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &lazyTLS{Conn: tls.Server(c, l.server)}, nil
}

// Addr is the advertised address.
func (l *tlsStreamLayer) Addr() net.Addr { return l.advertise }

// Dial connects to another coordinator and completes the handshake.
func (l *tlsStreamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	host, _, err := net.SplitHostPort(string(address))
	if err != nil {
		return nil, err
	}
	d := &net.Dialer{Timeout: timeout}
	return tls.DialWithDialer(d, "tcp", string(address), l.client(host))
}

// lazyTLS runs the server handshake, with a timeout, before the first read
// or write.
type lazyTLS struct {
	*tls.Conn
	once sync.Once
	err  error
}

func (c *lazyTLS) handshake() error {
	c.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
		defer cancel()
		c.err = c.Conn.HandshakeContext(ctx)
	})
	return c.err
}

func (c *lazyTLS) Read(b []byte) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	return c.Conn.Read(b)
}

func (c *lazyTLS) Write(b []byte) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}
