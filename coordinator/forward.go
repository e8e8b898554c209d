package coordinator

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/metadata"

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
	cc, err := c.conns.get(addr, security.Identity{Role: security.RoleCoordinator, ID: id})
	if err != nil {
		return nil, err
	}
	ctx = metadata.AppendToOutgoingContext(security.ForwardCaller(ctx), forwardedKey, c.node.ID())
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func(changed <-chan struct{}) {
		select {
		case <-changed:
			cancel(fmt.Errorf("%w: the leader changed while node %s was forwarding to %s; retry", ErrNoLeader, c.node.ID(), id))
		case <-ctx.Done():
		}
	}(changed)
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
	return fmt.Errorf("%w: node %s does not lead; the leader is %s at %s", ErrNoLeader, c.node.ID(), id, addr)
}
