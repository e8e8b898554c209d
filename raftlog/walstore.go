package raftlog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/hashicorp/go-hclog"
	wal "github.com/hashicorp/raft-wal"
	walfs "github.com/hashicorp/raft-wal/fs"
	walmeta "github.com/hashicorp/raft-wal/metadb"
	"github.com/hashicorp/raft-wal/segment"
	"github.com/hashicorp/raft-wal/types"
)

// walStore is raft-wal with three gaps of v0.4.0 closed:
//   - WAL.Close leaves wal-meta.db open, so its bbolt file lock stays held
//     and the next Open in the same process (a restart in a test, Replay)
//     blocks forever: walStore owns the meta store and closes it;
//   - wal-meta.db is opened with no lock timeout, so a second process on
//     the same data dir would hang at start: walStore first takes a
//     non-blocking lock on wal/LOCK and fails at once if it is held;
//   - a tail truncation (Raft drops a conflicting suffix) seals the tail
//     segment without writing its index block, and after a restart every
//     read of it failed with "sealed segment has no index block", so the
//     node could not start (hashicorp/raft-wal#31, fixed by #33 after
//     v0.4.0): walStore's segment filer reads such a segment through
//     instead (truncSealedFiler).
type walStore struct {
	*wal.WAL
	meta *walmeta.BoltMetaDB
	lock *os.File
}

const walLockFile = "LOCK"

// openWAL opens (creating if need be) the raft-wal log in dir.
func openWAL(dir string, hl hclog.Logger) (*walStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("raftlog: data dir: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	meta := &walmeta.BoltMetaDB{}
	filer := truncSealedFiler{segment.NewFiler(dir, walfs.New())}
	w, err := wal.Open(dir, wal.WithLogger(hl.Named("wal")), wal.WithMetaStore(meta), wal.WithSegmentFiler(filer))
	if err != nil {
		_ = meta.Close()
		_ = lock.Close()
		return nil, fmt.Errorf("raftlog: open %s/: %w", walDir, err)
	}
	return &walStore{WAL: w, meta: meta, lock: lock}, nil
}

// lockDir takes an exclusive lock on dir/LOCK without waiting.
func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, walLockFile)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("raftlog: lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("raftlog: %s is locked (%w): another process (or node) has this data dir open; stop it or use another --data-dir", path, err)
	}
	return f, nil
}

// Close closes the log, then its meta store, then releases the lock.
func (s *walStore) Close() error {
	return errors.Join(s.WAL.Close(), s.meta.Close(), s.lock.Close())
}

// truncSealedFiler opens a sealed segment that has no index block (one
// sealed by a tail truncation in raft-wal v0.4.0) the way raft-wal opens
// its tail after a crash: reading its frames through, up to the last
// intact commit frame, to rebuild the index in memory (no write). It
// serves only MinIndex..MaxIndex of it: the entries past MaxIndex are the
// truncated ones. Segments sealed normally open as before.
type truncSealedFiler struct{ *segment.Filer }

func (f truncSealedFiler) Open(info types.SegmentInfo) (types.SegmentReader, error) {
	if info.IndexStart != 0 {
		return f.Filer.Open(info)
	}
	w, err := f.Filer.RecoverTail(info)
	if err != nil {
		return nil, fmt.Errorf("raftlog: read through tail-truncated segment %d: %w", info.ID, err)
	}
	return boundedSegment{SegmentReader: w, min: info.MinIndex, max: info.MaxIndex}, nil
}

// boundedSegment answers only for indexes in [min, max].
type boundedSegment struct {
	types.SegmentReader
	min, max uint64
}

func (b boundedSegment) GetLog(idx uint64) (*types.PooledBuffer, error) {
	if idx < b.min || idx > b.max {
		return nil, types.ErrNotFound
	}
	return b.SegmentReader.GetLog(idx)
}
