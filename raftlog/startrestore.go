package raftlog

import (
	"fmt"

	"github.com/hashicorp/raft"
	"go.uber.org/zap"
)

// restoreNewest loads the newest snapshot into the FSM before Raft starts.
// Raft runs with NoSnapshotRestoreOnStart and takes its applied index and
// configuration from that same newest snapshot. Left to itself,
// hashicorp/raft would try the snapshots newest first and silently fall
// back to an older one when the newest fails to restore; the log entries
// between the two may already be compacted away, so the node would run on
// partial state. Here a newest snapshot that fails (CRC or the FSM's own
// parser) stops the node, and the error says why.
func (n *Node) restoreNewest() error {
	metas, err := n.deps.Snaps.List()
	if err != nil {
		return fmt.Errorf("raftlog: list snapshots: %w", err)
	}
	if len(metas) == 0 {
		return nil
	}
	m := metas[0]
	if err := n.restoreFrom(m); err != nil {
		return fmt.Errorf("%w: snapshot %s (index %d, term %d) in %s/snapshots: %w",
			ErrSnapshotUnusable, m.ID, m.Index, m.Term, n.cfg.DataDir, err)
	}
	n.log.Info("restored snapshot", zap.String("snapshot-id", m.ID), zap.Uint64("snapshot-index", m.Index))
	return nil
}

// restoreFrom opens one snapshot and hands it to the FSM's Restore, which
// closes it and replaces the table only when the whole snapshot parses.
func (n *Node) restoreFrom(m *raft.SnapshotMeta) error {
	_, rc, err := n.deps.Snaps.Open(m.ID)
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	return n.fsm.Restore(rc)
}
