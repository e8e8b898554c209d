package raftlog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/hashicorp/go-hclog"
	wal "github.com/hashicorp/raft-wal"
	walmeta "github.com/hashicorp/raft-wal/metadb"
)

// walStore is raft-wal with two gaps of v0.4.0 closed:
//   - WAL.Close leaves wal-meta.db open, so its bbolt file lock stays held
//     and the next Open in the same process (a restart in a test, Replay)
//     blocks forever: walStore owns the meta store and closes it;
//   - wal-meta.db is opened with no lock timeout, so a second process on
//     the same data dir would hang at start: walStore first takes a
//     non-blocking lock on wal/LOCK and fails at once if it is held.
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
	w, err := wal.Open(dir, wal.WithLogger(hl.Named("wal")), wal.WithMetaStore(meta))
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
