package raftlog

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/raft"
)

// AddVoter adds a voting member, or changes the address of an existing one,
// and waits until the new configuration is committed. Only the leader can
// do it (ErrNotLeader otherwise). The new node catches up from the log or a
// snapshot afterwards; it should have been started with Config.Join.
func (n *Node) AddVoter(ctx context.Context, id, addr string) error {
	if err := n.checkOpen(ctx); err != nil {
		return err
	}
	f := n.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(addr), 0, n.timeout(ctx))
	if err := n.waitConfigChange(ctx, f); err != nil {
		return fmt.Errorf("raftlog: add voter %s at %s: %w", id, addr, err)
	}
	return nil
}

// RemoveServer removes a member and waits until the new configuration is
// committed. ErrUnknownMember if id is not in the configuration. Removing
// the leader itself makes it step down once the change commits.
func (n *Node) RemoveServer(ctx context.Context, id string) error {
	if err := n.checkOpen(ctx); err != nil {
		return err
	}
	if !n.isMember(id) {
		return fmt.Errorf("%w: %q", ErrUnknownMember, id)
	}
	f := n.raft.RemoveServer(raft.ServerID(id), 0, n.timeout(ctx))
	if err := n.waitConfigChange(ctx, f); err != nil {
		return fmt.Errorf("raftlog: remove server %s: %w", id, err)
	}
	return nil
}

// SnapshotContext is Snapshot bounded by ctx. A snapshot that has nothing
// new to cover since the last one is not an error: the latest state is
// already in a snapshot.
func (n *Node) SnapshotContext(ctx context.Context) error {
	if err := n.checkOpen(ctx); err != nil {
		return err
	}
	f := n.raft.Snapshot()
	if err := n.wait(ctx, f, false); err != nil {
		if ctx.Err() != nil || errors.Is(err, ErrClosed) {
			return err
		}
		raw := f.Error() // resolved: wait returned its result
		if errors.Is(raw, raft.ErrNothingNewToSnapshot) {
			return nil
		}
		return fmt.Errorf("raftlog: snapshot not taken: %w; retry later", raw)
	}
	return nil
}

func (n *Node) isMember(id string) bool {
	for _, m := range n.Stats().Members {
		if m.ID == id {
			return true
		}
	}
	return false
}

// TransferLeadership hands leadership to the voter id (Raft's
// LeadershipTransferToServer: the target is caught up, then told to start
// an election at once) and waits until the transfer ends. ErrNotLeader if
// this node does not lead, ErrUnknownMember if id is not a voter; while it
// runs, proposals on this node fail with ErrNotLeader.
func (n *Node) TransferLeadership(ctx context.Context, id string) error {
	if err := n.checkOpen(ctx); err != nil {
		return err
	}
	var addr string
	for _, m := range n.Stats().Members {
		if m.ID == id {
			addr = m.Address
		}
	}
	if addr == "" || id == n.cfg.ID {
		return fmt.Errorf("%w: %q is not another voter", ErrUnknownMember, id)
	}
	f := n.raft.LeadershipTransferToServer(raft.ServerID(id), raft.ServerAddress(addr))
	if err := n.wait(ctx, f, true); err != nil {
		return fmt.Errorf("raftlog: transfer leadership to %s: %w", id, err)
	}
	return nil
}

// MembershipChanging reports whether a configuration change is in flight:
// one this node proposed as leader has not yet committed (or failed).
// Configuration changes are proposed only through this Node (AddVoter,
// RemoveServer), and an entry a former leader left uncommitted is committed
// by the new leader's first barrier, so a leader past its catch-up barrier
// that proposed nothing has no change in flight. (hashicorp/raft exposes no
// index for the latest configuration: GetConfiguration's future reports
// index 0, which made an earlier version of this check always false.)
func (n *Node) MembershipChanging() bool { return n.configChanges.Load() > 0 }
