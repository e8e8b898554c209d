package raftlog

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

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
	if err := n.checkUnlisted(metas); err != nil {
		return err
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

// checkUnlisted refuses a snapshot directory that the file store's List
// skipped (it only logs a warning for a meta.json it cannot read) when that
// directory is newer than every listed snapshot: List would otherwise hand
// restoreNewest an older snapshot, or none, while the log before the
// skipped one may be compacted away. An older unreadable directory is left
// alone: the store removes old snapshots with os.RemoveAll, and a crash in
// the middle of that leaves a partly removed directory behind.
func (n *Node) checkUnlisted(listed []*raft.SnapshotMeta) error {
	dir := filepath.Join(n.cfg.DataDir, "snapshots")
	entries, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return fmt.Errorf("raftlog: read %s: %w", dir, err)
	}
	ok := map[string]bool{}
	for _, m := range listed {
		ok[m.ID] = true
	}
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || ok[name] || strings.HasSuffix(name, ".tmp") {
			continue
		}
		term, index, named := snapshotName(name)
		if !named {
			continue // not a snapshot directory; the store ignores it too
		}
		if len(listed) > 0 && (term < listed[0].Term || term == listed[0].Term && index <= listed[0].Index) {
			continue // older than the newest readable one
		}
		return fmt.Errorf("%w: snapshot %s (index %d, term %d) in %s is newer than every readable snapshot but its meta.json cannot be read (%v); restore the directory from a backup, or remove the node's data directory and let it rejoin from the others",
			ErrSnapshotUnusable, name, index, term, dir, readMeta(filepath.Join(dir, name, "meta.json")))
	}
	return nil
}

// snapshotName parses the file store's directory name, term-index-millis.
func snapshotName(name string) (term, index uint64, ok bool) {
	parts := strings.Split(name, "-")
	if len(parts) != 3 {
		return 0, 0, false
	}
	var err1, err2, err3 error
	term, err1 = strconv.ParseUint(parts[0], 10, 64)
	index, err2 = strconv.ParseUint(parts[1], 10, 64)
	_, err3 = strconv.ParseUint(parts[2], 10, 64)
	return term, index, err1 == nil && err2 == nil && err3 == nil
}

// readMeta says why path is not a readable snapshot meta.json.
func readMeta(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var m raft.SnapshotMeta
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("parse: %w", err)
	}
	return fmt.Errorf("unsupported snapshot version %d", m.Version)
}
