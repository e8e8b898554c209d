package localcluster

import (
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"time"

	"google.golang.org/grpc"

	"github.com/arbiter-tx/arbiter/internal/security"
)

// certValidity is how long a run's certificates live.
const certValidity = 30 * 24 * time.Hour

// setupTLS gives every process a certificate from a CA made for this
// cluster (in Dir/certs), naming every address any process is dialled at,
// or passes --insecure to all of them when Options.Insecure is set.
func (c *Cluster) setupTLS(extraHosts []string) error {
	if c.opts.Insecure {
		for _, p := range c.All() {
			p.args = append(p.args, "--insecure")
		}
		return nil
	}
	c.certDir = filepath.Join(c.opts.Dir, "certs")
	ca, err := security.NewCA("Arbiter cluster CA", certValidity)
	if err != nil {
		return err
	}
	if err := ca.WriteCA(c.certDir); err != nil {
		return err
	}
	c.ca = ca
	c.hosts = c.certHosts(extraHosts)
	if c.admin, err = c.Source(security.RoleAdmin, "admin"); err != nil {
		return err
	}
	for _, p := range c.All() {
		role := security.RoleParticipant
		if slices.Contains(c.Coords, p) {
			role = security.RoleCoordinator
		}
		f, err := ca.WriteIdentity(c.certDir, security.Identity{Role: role, ID: p.Name}, c.hosts, certValidity)
		if err != nil {
			return err
		}
		p.args = append(p.args, "--tls-cert", f.Cert, "--tls-key", f.Key, "--tls-ca", f.CA)
		p.tls = c.admin
	}
	return nil
}

// certHosts is every host a process listens on or is advertised at, plus
// loopback.
func (c *Cluster) certHosts(extra []string) []string {
	hosts := []string{"127.0.0.1", "::1", "localhost"}
	addrs := append([]string{}, extra...)
	for _, p := range c.All() {
		addrs = append(addrs, p.Addr)
	}
	for _, a := range addrs {
		h, _, err := net.SplitHostPort(a)
		if err != nil {
			h = a
		}
		if h != "" && !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	return hosts
}

// Source issues (or reissues) a certificate for role/id from the cluster's
// CA and loads it; nil without TLS (Options.Insecure).
func (c *Cluster) Source(role security.Role, id string) (*security.Source, error) {
	if c.ca == nil {
		return nil, nil
	}
	f, err := c.ca.WriteIdentity(c.certDir, security.Identity{Role: role, ID: id}, c.hosts, certValidity)
	if err != nil {
		return nil, fmt.Errorf("cluster: certificate for %s/%s: %w", role, id, err)
	}
	return security.Load(f.Cert, f.Key, f.CA)
}

// DialOption is the transport option for a client with identity
// arbiter://client/<id> (plaintext without TLS). It is used for the
// coordinators and for the banks' own API, so the server must present a
// coordinator or a participant certificate from the cluster CA.
func (c *Cluster) DialOption(clientID string) (grpc.DialOption, error) {
	src, err := c.Source(security.RoleClient, clientID)
	if err != nil {
		return nil, err
	}
	return security.DialTo(src, security.Identity{Role: security.RoleCoordinator}, security.Identity{Role: security.RoleParticipant}), nil
}

// CertDir is where the CA and the certificates are ("" without TLS).
func (c *Cluster) CertDir() string { return c.certDir }
