package coordinator

import (
	"context"
	"errors"
	"fmt"
	"net"

	"go.uber.org/zap"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// AddMember adds a voter on the leader and records its gRPC address here
// (the leader, and the follower that forwarded the call). Other followers
// learn the address only from their own --peers flag; see memberAddrs.
func (a *adminServer) AddMember(ctx context.Context, req *arbiterpb.AddMemberRequest) (*arbiterpb.AddMemberResponse, error) {
	c := a.c
	if err := validateAddMember(req); err != nil {
		return nil, toStatus(err)
	}
	if c.leader() == nil {
		resp, err := forward[arbiterpb.AddMemberRequest, arbiterpb.AddMemberResponse](ctx, c, arbiterpb.Admin_AddMember_FullMethodName, req)
		if err == nil {
			c.members.set(req.GetId(), req.GetGrpcAddress())
		}
		return resp, toStatus(err)
	}
	c.members.set(req.GetId(), req.GetGrpcAddress())
	if err := c.node.AddVoter(ctx, req.GetId(), req.GetRaftAddress()); err != nil {
		return nil, toStatus(err)
	}
	c.log.Info("member added", zap.String("member-id", req.GetId()), zap.String("raft-addr", req.GetRaftAddress()),
		zap.String("grpc-addr", req.GetGrpcAddress()), zap.String("operator", operator(ctx)))
	return &arbiterpb.AddMemberResponse{Members: c.memberList(c.node.Stats())}, nil
}

// RemoveMember removes a server from the configuration on the leader.
func (a *adminServer) RemoveMember(ctx context.Context, req *arbiterpb.RemoveMemberRequest) (*arbiterpb.RemoveMemberResponse, error) {
	c := a.c
	if err := validID("id", req.GetId()); err != nil {
		return nil, toStatus(err)
	}
	if c.leader() == nil {
		resp, err := forward[arbiterpb.RemoveMemberRequest, arbiterpb.RemoveMemberResponse](ctx, c, arbiterpb.Admin_RemoveMember_FullMethodName, req)
		if err == nil {
			c.members.remove(req.GetId())
		}
		return resp, toStatus(err)
	}
	if err := c.node.RemoveServer(ctx, req.GetId()); err != nil {
		return nil, toStatus(err)
	}
	c.members.remove(req.GetId())
	c.log.Info("member removed", zap.String("member-id", req.GetId()), zap.String("operator", operator(ctx)))
	return &arbiterpb.RemoveMemberResponse{Members: c.memberList(c.node.Stats())}, nil
}

// Snapshot takes a Raft snapshot on this node; it never forwards.
func (a *adminServer) Snapshot(ctx context.Context, _ *arbiterpb.SnapshotRequest) (*arbiterpb.SnapshotResponse, error) {
	c := a.c
	if err := c.node.SnapshotContext(ctx); err != nil {
		return nil, toStatus(err)
	}
	return &arbiterpb.SnapshotResponse{NodeId: c.node.ID(), AppliedIndex: c.node.Stats().AppliedIndex}, nil
}

func validateAddMember(req *arbiterpb.AddMemberRequest) error {
	errs := []error{validID("id", req.GetId())}
	for name, addr := range map[string]string{"raft_address": req.GetRaftAddress(), "grpc_address": req.GetGrpcAddress()} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			errs = append(errs, fmt.Errorf("%w: %s %q: want host:port", ErrInvalid, name, addr))
		}
	}
	return errors.Join(errs...)
}
