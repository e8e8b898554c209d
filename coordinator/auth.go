package coordinator

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/arbiter-tx/arbiter/internal/security"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// ServerOptions are the options every coordinator gRPC server needs on top
// of its transport credentials: the message size limit and the
// authorization interceptor.
func (c *Coordinator) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.MaxRecvMsgSize(c.cfg.MaxMessageBytes),
		grpc.ChainUnaryInterceptor(c.UnaryInterceptor()),
		grpc.ChainStreamInterceptor(c.StreamInterceptor()),
	}
}

// StreamInterceptor authenticates streaming calls as UnaryInterceptor does
// unary ones and records the caller in the stream's context; Watch, the
// one streaming call, then narrows what the caller sees (watchFilter).
// Any other stream (health watching, reflection) needs only a verified
// identity.
func (c *Coordinator) StreamInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		caller, tlsOn, err := security.Caller(ss.Context(), c.node.IsMember)
		if !tlsOn {
			return handler(srv, ss)
		}
		if err != nil {
			return c.refuseCaller(caller, info.FullMethod, err)
		}
		return handler(srv, &callerStream{ServerStream: ss, ctx: security.WithCaller(ss.Context(), caller)})
	}
}

// callerStream is a stream whose context names the authenticated caller.
type callerStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *callerStream) Context() context.Context { return s.ctx }

// UnaryInterceptor authorizes Coordinator calls by the caller's
// certificate identity (see authorize). On a plaintext connection (a server
// started with --insecure) there is no identity and every call is allowed.
// A coordinator certificate is accepted only for a member of this cluster
// (raftlog.Node.IsMember), and only a member's forwarded-caller metadata is
// believed. The authenticated caller is recorded in the context so that a
// follower forwarding the call names it to the leader.
func (c *Coordinator) UnaryInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		caller, tlsOn, err := security.Caller(ctx, c.node.IsMember)
		if !tlsOn {
			return handler(ctx, req)
		}
		if err != nil {
			return nil, c.refuseCaller(caller, info.FullMethod, err)
		}
		if err := c.authorize(caller, info.FullMethod, req); err != nil {
			return nil, err
		}
		return handler(security.WithCaller(ctx, caller), req)
	}
}

// refuseCaller maps a failed identity check to its status: PermissionDenied
// for a coordinator certificate of a non-member, Unauthenticated otherwise.
func (c *Coordinator) refuseCaller(peer security.Identity, method string, err error) error {
	if errors.Is(err, security.ErrNotMember) {
		c.log.Warn("call from a non-member coordinator refused", zap.String("peer", peer.String()), zap.String("method", method))
		return status.Errorf(codes.PermissionDenied, "%v: node %s calls %s, but only members of this cluster may act as coordinators (arbiter members add)", err, peer.ID, method)
	}
	return status.Errorf(codes.Unauthenticated, "%v: present a certificate from the cluster CA with an arbiter:// URI SAN", err)
}

// authorize applies the per-method rules. Member coordinators (the
// interceptor refuses the others) are trusted for everything (they hold the
// log); the Admin service is for admins only;
// admins may call anything but Register,
// Enlist and Resolve; clients may begin transactions and commit, abort and
// read only those they began; participants may Register, Enlist and Resolve
// only under their own ID.
func (c *Coordinator) authorize(caller security.Identity, method string, req any) error {
	if caller.Role == security.RoleCoordinator {
		return nil
	}
	if strings.HasPrefix(method, "/"+arbiterpb.Admin_ServiceDesc.ServiceName+"/") {
		return allow(caller, method, security.RoleAdmin) // every operator action
	}
	if !strings.HasPrefix(method, "/"+arbiterpb.Coordinator_ServiceDesc.ServiceName+"/") {
		return nil // health checking and reflection: any verified identity
	}
	switch r := req.(type) {
	case *arbiterpb.BeginRequest:
		if err := allow(caller, method, security.RoleClient, security.RoleAdmin); err != nil {
			return err
		}
		r.ClientId = clientID(caller)
		return nil
	case *arbiterpb.CommitRequest:
		if err := c.allowOwner(caller, method, r.GetTxId()); err != nil {
			return err
		}
		r.ClientId = clientID(caller) // recorded by a one-shot Commit
		return nil
	case *arbiterpb.AbortRequest:
		return c.allowOwner(caller, method, r.GetTxId())
	case *arbiterpb.StatusRequest:
		return c.allowOwner(caller, method, r.GetTxId())
	case *arbiterpb.RegisterRequest:
		return allowSelf(caller, method, r.GetParticipantId())
	case *arbiterpb.EnlistRequest:
		return allowSelf(caller, method, r.GetParticipantId())
	case *arbiterpb.ResolveRequest:
		return allowSelf(caller, method, r.GetParticipantId())
	case *arbiterpb.ClusterRequest, *arbiterpb.ListTransactionsRequest:
		return allow(caller, method, security.RoleAdmin)
	}
	return status.Errorf(codes.PermissionDenied, "%s: no authorization rule for this method; refused", method)
}

// clientID is what a transaction records as its client: the bare ID for a
// client identity, the full URI for any other role.
func clientID(id security.Identity) string {
	if id.Role == security.RoleClient {
		return id.ID
	}
	return id.String()
}

func allow(caller security.Identity, method string, roles ...security.Role) error {
	if caller.Is(roles...) {
		return nil
	}
	return status.Errorf(codes.PermissionDenied, "%s is not allowed to call %s (allowed roles: %s)", caller, method, joinRoles(roles))
}

func allowSelf(caller security.Identity, method, participantID string) error {
	if err := allow(caller, method, security.RoleParticipant); err != nil {
		return err
	}
	if participantID != caller.ID {
		return status.Errorf(codes.PermissionDenied, "%s may call %s only as participant %q, not %q", caller, method, caller.ID, participantID)
	}
	return nil
}

// allowOwner lets admins act on any transaction and clients on those they
// began. A record this node does not hold yet is let through: the call is
// then forwarded to the leader (naming the caller), which checks again; or
// it fails as unknown.
func (c *Coordinator) allowOwner(caller security.Identity, method, txID string) error {
	if err := allow(caller, method, security.RoleClient, security.RoleAdmin); err != nil || caller.Role == security.RoleAdmin {
		return err
	}
	rec, ok := c.node.FSM().Get(txID)
	if ok && rec.GetClientId() != "" && rec.GetClientId() != caller.ID { // no owner: a presumed abort
		return status.Errorf(codes.PermissionDenied, "%s may not act on transaction %s: it was begun by another client", caller, txID)
	}
	return nil
}

func joinRoles(roles []security.Role) string {
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, " or ")
}

// admit refuses a Begin once MaxInFlight transactions are undecided on
// this leader; the node stays healthy and serves everything else. A
// STAGING record this leader saw commit implicitly (parallel or one-phase
// commit, waiting for its FINISH) is decided, and not counted.
func (c *Coordinator) admit() error {
	if c.cfg.MaxInFlight <= 0 {
		return nil
	}
	active, _ := c.node.FSM().Counts()
	c.mu.Lock()
	if c.lead != nil {
		active -= len(c.lead.implicit)
	}
	c.mu.Unlock()
	if active >= c.cfg.MaxInFlight {
		return fmt.Errorf("%w: %d transactions are in flight on this node (limit %d, --max-in-flight); retry later or raise the limit", ErrOverloaded, active, c.cfg.MaxInFlight)
	}
	return nil
}
