package runner

import (
	"fmt"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/arbiter-tx/arbiter/jepsen/history"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
	"github.com/arbiter-tx/arbiter/raftlog"
)

// noteImplicitCommits adds to r.Decisions the implicit commits (a FINISH
// naming a STAGING record) the replay applied. raftlog.Replay notes a
// decision when its DECIDE applies and reads the others from the final
// table, so an implicit commit whose record the uniqueness window has
// forgotten since would be missing, and a participant that applied it
// would look as if it committed what no coordinator decided. The log is
// replayed once more through a fresh FSM (from the same snapshot), and
// each implicit commit is read right after its FINISH applied.
func noteImplicitCommits(dataDir string, r *raftlog.Replayed) error {
	fsm := raftlog.NewFSM()
	if r.SnapshotIndex > 0 {
		if err := restoreSnapshot(fsm, dataDir, r.SnapshotIndex); err != nil {
			return err
		}
	}
	for i := range r.Entries {
		l := &r.Entries[i]
		fsm.Apply(l)
		_, m, err := raftlog.Decode(l.Data)
		if err != nil {
			return fmt.Errorf("log entry %d: %w", l.Index, err)
		}
		fin, ok := m.(*arbiterpb.FinishCommand)
		if !ok {
			continue
		}
		for _, id := range fin.GetImplicitCommitTxIds() {
			rec, ok := fsm.Get(id)
			if _, seen := r.Decisions[id]; !seen && ok && rec.GetState() == arbiterpb.TxState_TX_STATE_COMMITTED {
				r.Decisions[id] = history.OutcomeCommit
			}
		}
	}
	return nil
}

// restoreSnapshot restores fsm from dataDir's snapshot at index.
func restoreSnapshot(fsm *raftlog.FSM, dataDir string, index uint64) error {
	snaps, err := raft.NewFileSnapshotStoreWithLogger(dataDir, 2, hclog.NewNullLogger())
	if err != nil {
		return err
	}
	metas, err := snaps.List()
	if err != nil {
		return err
	}
	for _, meta := range metas {
		if meta.Index != index {
			continue
		}
		_, rc, err := snaps.Open(meta.ID)
		if err != nil {
			return fmt.Errorf("open snapshot %s: %w", meta.ID, err)
		}
		return fsm.Restore(rc) // Restore closes rc
	}
	return fmt.Errorf("no snapshot at index %d in %s", index, dataDir)
}
