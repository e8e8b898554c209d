package raftlog

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	bolt "go.etcd.io/bbolt"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// Replayed is a node's state rebuilt offline from its data directory.
type Replayed struct {
	// FSM is the latest snapshot with every later log entry applied.
	FSM *FSM
	// Entries are the command entries in the log (after compaction),
	// in index order.
	Entries []raft.Log
	// SnapshotIndex is the index of the snapshot restored (0 if none).
	SnapshotIndex uint64
	// Decisions maps each tx ID to its decision ("commit" or "abort"): the
	// first DECIDE applied for it in the replayed entries (the write-once
	// rule as the FSM applies it), or, for decisions compacted into the
	// snapshot, what the restored table holds.
	Decisions map[string]string
}

// Replay rebuilds a stopped node's state from dataDir with the same FSM
// code the node runs: restore the newest snapshot, then apply the rest of
// the log, from whichever log store the data dir holds. The node must not
// be running. raft.db is opened read-only; a wal/ log is opened as the
// node opens it, so a torn tail is cut back to its last whole batch
// exactly as the node's next start would.
func Replay(dataDir string) (*Replayed, error) {
	store, err := openExisting(dataDir)
	if err != nil {
		return nil, err
	}
	defer func() { _ = store.Close() }()
	r := &Replayed{FSM: NewFSM(), Decisions: make(map[string]string)}
	if err := r.restoreSnapshot(dataDir); err != nil {
		return nil, err
	}
	if err := r.applyLog(store); err != nil {
		return nil, err
	}
	// Decisions compacted into the snapshot are only in the table.
	for id, out := range r.FSM.Decisions() {
		if _, ok := r.Decisions[id]; !ok {
			r.Decisions[id] = out
		}
	}
	return r, nil
}

func (r *Replayed) restoreSnapshot(dataDir string) error {
	snaps, err := raft.NewFileSnapshotStoreWithLogger(dataDir, 2, hclog.NewNullLogger())
	if err != nil {
		return fmt.Errorf("raftlog: replay: snapshot store: %w", err)
	}
	metas, err := snaps.List()
	if err != nil || len(metas) == 0 {
		return err
	}
	_, rc, err := snaps.Open(metas[0].ID)
	if err != nil {
		return fmt.Errorf("raftlog: replay: open snapshot %s: %w", metas[0].ID, err)
	}
	r.SnapshotIndex = metas[0].Index
	return r.FSM.Restore(io.NopCloser(rc))
}

func (r *Replayed) applyLog(store raft.LogStore) error {
	first, err := store.FirstIndex()
	if err != nil {
		return err
	}
	last, err := store.LastIndex()
	if err != nil {
		return err
	}
	for i := max(first, r.SnapshotIndex+1); i <= last && i > 0; i++ {
		var l raft.Log
		if err := store.GetLog(i, &l); err != nil {
			return fmt.Errorf("raftlog: replay: entry %d: %w", i, err)
		}
		if l.Type != raft.LogCommand {
			continue
		}
		r.Entries = append(r.Entries, l)
		res, _ := r.FSM.Apply(&l).(Result)
		r.noteDecision(res)
		r.noteImplicit(l.Data)
	}
	return nil
}

// noteImplicit notes the implicit commits a FINISH entry recorded (they
// come back in no Result): read right after the apply, before a later
// FINISH's window cut can forget them.
func (r *Replayed) noteImplicit(data []byte) {
	_, m, err := Decode(data)
	f, ok := m.(*arbiterpb.FinishCommand)
	if err != nil || !ok {
		return
	}
	for _, id := range f.GetImplicitCommitTxIds() {
		if rec, ok := r.FSM.Get(id); ok {
			r.noteDecision(Result{Tx: rec})
		}
	}
}

func (r *Replayed) noteDecision(res Result) {
	if res.Tx == nil || res.Err != nil {
		return
	}
	id := res.Tx.GetTxId()
	if _, seen := r.Decisions[id]; seen {
		return
	}
	switch res.Tx.GetState() {
	case arbiterpb.TxState_TX_STATE_COMMITTED:
		r.Decisions[id] = "commit"
	case arbiterpb.TxState_TX_STATE_ABORTED:
		r.Decisions[id] = "abort"
	}
}

// openBoltReadOnly opens dataDir's raft.db without writing to it.
func openBoltReadOnly(dataDir string) (logStore, error) {
	store, err := raftboltdb.New(raftboltdb.Options{
		Path:        filepath.Join(dataDir, boltFile),
		BoltOptions: &bolt.Options{ReadOnly: true},
	})
	if err != nil {
		return nil, fmt.Errorf("raftlog: replay: open %s: %w", boltFile, err)
	}
	return store, nil
}
