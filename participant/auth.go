package participant

import (
	"context"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/internal/security"
)

// authorize checks the direct peer of a Participant call: Prepare, Commit
// and Abort only from coordinator identities, Inspect from coordinators and
// admins. Forwarded-caller metadata is never consulted here: coordinators
// call participants directly. On a plaintext connection (a server started
// without TLS, an explicit --insecure) there is no identity to check and
// the call is allowed.
func (a *Agent[T]) authorize(ctx context.Context, method string, roles ...security.Role) error {
	id, tlsOn, err := security.PeerIdentity(ctx)
	switch {
	case !tlsOn:
		return nil
	case err != nil:
		return status.Errorf(codes.Unauthenticated, "participant %s: %v", a.cfg.ID, err)
	case !id.Is(roles...):
		a.log.Warn("call refused", zap.String("method", method), zap.String("caller", id.String()))
		return status.Errorf(codes.PermissionDenied, "participant %s accepts %s only from %v identities, not %s", a.cfg.ID, method, roles, id)
	}
	return nil
}

// dialOptions are the options for the coordinator connections: DialOptions
// if set, else TLS (or plaintext without it) plus the tx ID interceptor.
func (c Config) dialOptions() []grpc.DialOption {
	if c.DialOptions != nil {
		return c.DialOptions
	}
	return []grpc.DialOption{
		security.DialOption(c.TLS),
		grpc.WithUnaryInterceptor(client.UnaryClientInterceptor()),
	}
}
