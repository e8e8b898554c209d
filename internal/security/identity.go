package security

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
)

// Role is what an identity may do.
type Role string

// The roles. A certificate names exactly one.
const (
	RoleCoordinator Role = "coordinator"
	RoleParticipant Role = "participant"
	RoleClient      Role = "client"
	RoleAdmin       Role = "admin"
)

// Scheme is the URI scheme of identity SANs.
const Scheme = "arbiter"

// CallerKey is the gRPC metadata key under which a coordinator forwarding a
// call names the original caller. It is trusted only when the direct peer
// is itself a coordinator that is a member of the cluster (see Caller).
const CallerKey = "arbiter-caller"

// Errors about identities.
var (
	// ErrNoIdentity: the peer presented no verified certificate with an
	// arbiter:// URI SAN.
	ErrNoIdentity = errors.New("no arbiter identity")
	// ErrBadIdentity: an identity URI that does not parse.
	ErrBadIdentity = errors.New("malformed arbiter identity")
	// ErrWrongPeer: the other end's certificate names another identity
	// than the one this connection is for (a dial reached the wrong server,
	// or a role that may not use this port connected).
	ErrWrongPeer = errors.New("unexpected peer identity")
	// ErrNotMember: a coordinator certificate for a node ID that is not a
	// member of this cluster. Add the node first (arbiter members add), or
	// check that the right certificate is in use.
	ErrNotMember = errors.New("coordinator is not a member of this cluster")
)

// Identity is who a certificate names: arbiter://<role>/<id>.
type Identity struct {
	Role Role
	ID   string
}

// String returns the identity as its URI.
func (id Identity) String() string { return Scheme + "://" + string(id.Role) + "/" + id.ID }

// URL returns the identity as a URI SAN.
func (id Identity) URL() *url.URL {
	return &url.URL{Scheme: Scheme, Host: string(id.Role), Path: "/" + id.ID}
}

// Is reports whether the identity has one of roles.
func (id Identity) Is(roles ...Role) bool {
	for _, r := range roles {
		if id.Role == r {
			return true
		}
	}
	return false
}

// ParseIdentity parses "arbiter://role/id".
func ParseIdentity(s string) (Identity, error) {
	u, err := url.Parse(s)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %q: %v", ErrBadIdentity, s, err)
	}
	return fromURL(u)
}

func fromURL(u *url.URL) (Identity, error) {
	id := Identity{Role: Role(u.Host), ID: strings.TrimPrefix(u.Path, "/")}
	if u.Scheme != Scheme || id.ID == "" || strings.Contains(id.ID, "/") || !validRole(id.Role) {
		return Identity{}, fmt.Errorf("%w: %q: want %s://{coordinator,participant,client,admin}/<id>", ErrBadIdentity, u.String(), Scheme)
	}
	return id, nil
}

func validRole(r Role) bool {
	switch r {
	case RoleCoordinator, RoleParticipant, RoleClient, RoleAdmin:
		return true
	}
	return false
}

// FromCert returns the identity in a certificate's first arbiter:// URI SAN.
func FromCert(cert *x509.Certificate) (Identity, error) {
	for _, u := range cert.URIs {
		if u.Scheme == Scheme {
			return fromURL(u)
		}
	}
	return Identity{}, fmt.Errorf("%w: certificate %q has no %s:// URI SAN", ErrNoIdentity, cert.Subject.CommonName, Scheme)
}

// PeerIdentity returns the identity of the direct peer of a gRPC call. ok
// is false when the connection is not TLS at all (an --insecure server);
// err is set when it is TLS but carries no usable identity.
func PeerIdentity(ctx context.Context) (id Identity, tlsOn bool, err error) {
	p, ok := peer.FromContext(ctx)
	if !ok || p.AuthInfo == nil {
		return Identity{}, false, nil
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok {
		return Identity{}, false, nil
	}
	if len(info.State.VerifiedChains) == 0 || len(info.State.VerifiedChains[0]) == 0 {
		return Identity{}, true, fmt.Errorf("%w: the peer presented no verified client certificate", ErrNoIdentity)
	}
	id, err = FromCert(info.State.VerifiedChains[0][0])
	return id, true, err
}

// Caller returns the identity a call acts for: the direct peer's, or, when
// the direct peer is a member coordinator forwarding a call, the identity
// it names in CallerKey metadata. isMember says which coordinator node IDs
// are members of this cluster: a coordinator certificate for any other ID
// gets ErrNotMember, whatever metadata it sends. tlsOn is false for a
// plaintext connection.
func Caller(ctx context.Context, isMember func(nodeID string) bool) (id Identity, tlsOn bool, err error) {
	id, tlsOn, err = PeerIdentity(ctx)
	if err != nil || !tlsOn || id.Role != RoleCoordinator {
		return id, tlsOn, err
	}
	if !isMember(id.ID) {
		return id, true, fmt.Errorf("%w: %s", ErrNotMember, id)
	}
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get(CallerKey)
	if len(vals) == 0 {
		return id, true, nil
	}
	orig, err := ParseIdentity(vals[0])
	return orig, true, err
}

type callerCtxKey struct{}

// WithCaller records an authenticated caller in ctx (done by the server
// interceptors) so that a forwarding coordinator can pass it on.
func WithCaller(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, callerCtxKey{}, id)
}

// CallerFrom returns the caller recorded by WithCaller.
func CallerFrom(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(callerCtxKey{}).(Identity)
	return id, ok
}

// ForwardCaller adds the caller recorded in ctx (if any) to the outgoing
// metadata, for a coordinator forwarding a call to the leader.
func ForwardCaller(ctx context.Context) context.Context {
	if id, ok := CallerFrom(ctx); ok {
		return metadata.AppendToOutgoingContext(ctx, CallerKey, id.String())
	}
	return ctx
}
