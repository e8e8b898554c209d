package coordinator

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/arbiter-tx/arbiter/internal/security"
)

// forwardedKey marks a call a follower forwarded, so that it is forwarded at
// most once: a node that receives a forwarded call and does not lead answers
// UNAVAILABLE, and the client SDK retries elsewhere.
const forwardedKey = "arbiter-forwarded"

// forward sends a call that needs the leader to it, or fails with
// ErrNoLeader when this node cannot.
func forward[Req, Resp any](ctx context.Context, c *Coordinator, method string, req *Req) (*Resp, error) {
	if md, ok := metadata.FromIncomingContext(ctx); ok && len(md.Get(forwardedKey)) > 0 {
		return nil, c.noLeader()
	}
	changed := c.node.LeaderViewChanged() // before reading the leader: no change is missed
	id, _ := c.node.Leader()
	addr, ok := c.members.get(id)
	if id == "" || !ok || id == c.node.ID() {
		return nil, c.noLeader()
	}
	_, _, linkDown, linkWake := c.link.state(id)
	if linkDown {
		return nil, c.unreachableLeader(id, addr) // leaderlink.go
	}
	cc, err := c.conns.get(addr, security.Identity{Role: security.RoleCoordinator, ID: id})
	if err != nil {
		return nil, err
	}
	ctx = metadata.AppendToOutgoingContext(security.ForwardCaller(ctx), forwardedKey, c.node.ID())
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func(changed, linkWake <-chan struct{}) {
		select {
		case <-changed:
			cancel(fmt.Errorf("%w: the leader changed while node %s was forwarding to %s; retry", ErrNoLeader, c.node.ID(), id))
		case <-linkWake:
			cancel(c.unreachableLeader(id, addr))
		case <-ctx.Done():
		}
	}(changed, linkWake)
	resp := new(Resp)
	if err := cc.Invoke(ctx, method, req, resp); err != nil {
		if cause := context.Cause(ctx); errors.Is(cause, ErrNoLeader) {
			return nil, cause
		}
		return nil, err
	}
	return resp, nil
}

func (c *Coordinator) noLeader() error {
	id, _ := c.node.Leader()
	if id == "" || id == c.node.ID() {
		return fmt.Errorf("%w: node %s does not lead and knows no leader; retry shortly", ErrNoLeader, c.node.ID())
	}
	addr, _ := c.members.get(id)
	return &notLeader{err: fmt.Errorf("%w: node %s does not lead; the leader is %s at %s", ErrNoLeader, c.node.ID(), id, addr),
		leaderID: id, leaderAddr: addr}
}

// notLeader is ErrNoLeader naming the leader; toStatus turns it into an
// UNAVAILABLE status with an ErrorInfo detail (reason NOT_LEADER, metadata
// leader-id and leader-addr) that the client SDK follows.
type notLeader struct {
	err                  error
	leaderID, leaderAddr string
}

func (e *notLeader) Error() string { return e.err.Error() }
func (e *notLeader) Unwrap() error { return e.err }

func (e *notLeader) status() *status.Status {
	st := status.New(codes.Unavailable, e.Error())
	info := &errdetails.ErrorInfo{Reason: "NOT_LEADER", Domain: "arbiter",
		Metadata: map[string]string{"leader-id": e.leaderID, "leader-addr": e.leaderAddr}}
	if withInfo, err := st.WithDetails(info); err == nil {
		return withInfo
	}
	return st
}
