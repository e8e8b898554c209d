package localcluster

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"

	"github.com/arbiter-tx/arbiter/examples/bank/bankpb"
	"github.com/arbiter-tx/arbiter/internal/backoff"
	"github.com/arbiter-tx/arbiter/internal/security"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// dial connects to p, which must present a role/<p.Name> certificate.
func dial(p *Proc, role security.Role) (*grpc.ClientConn, error) {
	return grpc.NewClient(p.Addr, security.DialTo(p.tls, security.Identity{Role: role, ID: p.Name}))
}

// ClusterInfo asks one coordinator for its view.
func ClusterInfo(ctx context.Context, p *Proc) (*arbiterpb.ClusterResponse, error) {
	cc, err := dial(p, security.RoleCoordinator)
	if err != nil {
		return nil, err
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	return arbiterpb.NewCoordinatorClient(cc).Cluster(ctx, &arbiterpb.ClusterRequest{})
}

// Leader returns the coordinator that says it leads, if any does.
func (c *Cluster) Leader(ctx context.Context) (*Proc, *arbiterpb.ClusterResponse, error) {
	for _, p := range c.Coords {
		if !p.Running() {
			continue
		}
		info, err := ClusterInfo(ctx, p)
		if err == nil && info.GetState() == "Leader" && info.GetLeaderId() == p.Name {
			return p, info, nil
		}
	}
	return nil, nil, fmt.Errorf("no coordinator reports itself leader")
}

// WaitLeader polls until a leader exists or ctx ends.
func (c *Cluster) WaitLeader(ctx context.Context) (*Proc, error) {
	for {
		p, _, err := c.Leader(ctx)
		if err == nil {
			return p, nil
		}
		if !backoff.Sleep(ctx, 100*time.Millisecond) {
			return nil, fmt.Errorf("waiting for a leader: %w", err)
		}
	}
}

// Inspect asks one participant for its prepared transactions.
func Inspect(ctx context.Context, p *Proc) (*arbiterpb.InspectResponse, error) {
	cc, err := dial(p, security.RoleParticipant)
	if err != nil {
		return nil, err
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return arbiterpb.NewParticipantClient(cc).Inspect(ctx, &arbiterpb.InspectRequest{})
}

// Balances reads one bank's committed balances.
func Balances(ctx context.Context, p *Proc) (*bankpb.BalancesResponse, error) {
	cc, err := dial(p, security.RoleParticipant)
	if err != nil {
		return nil, err
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return bankpb.NewBankClient(cc).Balances(ctx, &bankpb.BalancesRequest{})
}

// InDoubt counts prepared transactions at every bank (and the outbox) plus open
// transactions in the leader's table; -1 if some process did not answer.
func (c *Cluster) InDoubt(ctx context.Context) (prepared, open int, err error) {
	parts := c.Banks
	if c.Outbox != nil {
		parts = append(append([]*Proc{}, parts...), c.Outbox)
	}
	for _, b := range parts {
		r, err := Inspect(ctx, b)
		if err != nil {
			return -1, -1, fmt.Errorf("%s: %w", b.Name, err)
		}
		prepared += len(r.GetPrepared())
	}
	_, info, err := c.Leader(ctx)
	if err != nil {
		return prepared, -1, err
	}
	return prepared, int(info.GetActive() + info.GetUnfinished()), nil
}
