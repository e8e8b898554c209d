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
// call participants directly. A call over plaintext has no identity to
// check: it is allowed only when the agent runs with Config.Insecure, and
// refused otherwise (a server started without agent.ServerOptions()).
func (a *Agent[T]) authorize(ctx context.Context, method string, roles ...security.Role) error {
	id, tlsOn, err := security.PeerIdentity(ctx)
	switch {
	case !tlsOn && a.cfg.Insecure:
		return nil
	case !tlsOn:
		return status.Errorf(codes.Unauthenticated, "participant %s: %s arrived over plaintext; serve the agent with grpc.NewServer(agent.ServerOptions()...), which adds TLS, or set Config.Insecure for development", a.cfg.ID, method)
	case err != nil:
		return status.Errorf(codes.Unauthenticated, "participant %s: %v", a.cfg.ID, err)
	case !id.Is(roles...):
		a.log.Warn("call refused", zap.String("method", method), zap.String("caller", id.String()))
		return status.Errorf(codes.PermissionDenied, "participant %s accepts %s only from %v identities, not %s", a.cfg.ID, method, roles, id)
	}
	return nil
}

// ServerOptions are the options the agent's gRPC server needs: mutual TLS
// over Config.TLS (none when Insecure) and the request size limit
// (Config.MaxMessageBytes). A service outside this module serves the agent
// with grpc.NewServer(agent.ServerOptions()...), plus its own options.
func (a *Agent[T]) ServerOptions() []grpc.ServerOption {
	return append(security.ServerOption(a.cfg.TLS), grpc.MaxRecvMsgSize(a.cfg.MaxMessageBytes))
}

// warnInsecure logs, once at New, that the agent runs without TLS.
func warnInsecure(cfg Config, log *zap.Logger) {
	if cfg.Insecure {
		log.Warn("participant running WITHOUT TLS (Insecure): traffic is plaintext and every caller may prepare, commit and abort")
	}
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
