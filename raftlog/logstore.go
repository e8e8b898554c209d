package raftlog

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	walmeta "github.com/hashicorp/raft-wal/metadb"
)

// The Raft log stores a node can keep in its data dir (Config.LogStore,
// `arbiter serve --log-store`). Each is both the raft.LogStore and the
// raft.StableStore.
const (
	// LogStoreBoltDB is raft-boltdb in DataDir/raft.db: every append is a
	// bbolt commit, two fdatasyncs (the data pages, then the meta page).
	LogStoreBoltDB = "boltdb"
	// LogStoreWAL is raft-wal in DataDir/wal/: every append is written to
	// the tail segment with a CRC commit frame and fsynced once; the
	// stable store and the segment list live in wal/wal-meta.db, written
	// only on votes, terms, segment rotation and truncation.
	LogStoreWAL = "wal"
)

// LogStores lists the accepted values of Config.LogStore.
func LogStores() []string { return []string{LogStoreBoltDB, LogStoreWAL} }

const (
	boltFile = "raft.db"
	walDir   = "wal"
)

// logStore is what a Node keeps its Raft log and stable state in.
type logStore interface {
	raft.LogStore
	raft.StableStore
	io.Closer
}

// storeFound reports which log stores dataDir already holds (none, one,
// or, after someone copied files in, both).
func storeFound(dataDir string) ([]string, error) {
	var found []string
	if _, err := os.Stat(filepath.Join(dataDir, boltFile)); err == nil {
		found = append(found, LogStoreBoltDB)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("raftlog: data dir: %w", err)
	}
	has, err := holdsWAL(filepath.Join(dataDir, walDir))
	if err != nil {
		return nil, err
	}
	if has {
		found = append(found, LogStoreWAL)
	}
	return found, nil
}

// holdsWAL: dir has raft-wal's meta database or a segment file. An empty
// wal/ directory (a start killed before raft-wal wrote anything) is no log.
func holdsWAL(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("raftlog: data dir: %w", err)
	}
	for _, e := range entries {
		if e.Name() == walmeta.FileName || strings.HasSuffix(e.Name(), ".wal") {
			return true, nil
		}
	}
	return false, nil
}

// checkStoreKind refuses a data dir that holds a log store other than
// want: opening want there would start a second, empty log beside the
// node's real one, and the node would forget its votes and entries.
func checkStoreKind(dataDir, want string) error {
	found, err := storeFound(dataDir)
	if err != nil {
		return err
	}
	switch {
	case len(found) > 1:
		return fmt.Errorf("%w: data dir %s holds both a boltdb raft log (%s) and a wal raft log (%s/): keep the one this node last ran on and move the other away",
			ErrLogStoreMismatch, dataDir, boltFile, walDir)
	case len(found) == 1 && found[0] != want:
		return fmt.Errorf("%w: data dir %s holds a %s raft log (%s); start with --log-store %s, or move the data dir away (to switch this node's store: remove it from the cluster, start it on an empty data dir with --join, add it back)",
			ErrLogStoreMismatch, dataDir, found[0], storePath(found[0]), found[0])
	}
	return nil
}

func storePath(kind string) string {
	if kind == LogStoreWAL {
		return walDir + "/"
	}
	return boltFile
}

// openLogStore opens (creating if need be) the log store kind in dataDir,
// after checking that the data dir holds no other kind.
func openLogStore(dataDir, kind string, hl hclog.Logger) (logStore, error) {
	if err := checkStoreKind(dataDir, kind); err != nil {
		return nil, err
	}
	switch kind {
	case LogStoreBoltDB:
		db, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(dataDir, boltFile), BoltOptions: boltOptions()})
		if err != nil {
			return nil, fmt.Errorf("raftlog: open %s: %w", boltFile, err)
		}
		return db, nil
	case LogStoreWAL:
		return openWAL(filepath.Join(dataDir, walDir), hl)
	}
	return nil, fmt.Errorf("raftlog: unknown log store %q: want one of %s", kind, strings.Join(LogStores(), ", "))
}

// openExisting opens whichever log store dataDir holds, for Replay.
func openExisting(dataDir string) (logStore, error) {
	found, err := storeFound(dataDir)
	if err != nil {
		return nil, err
	}
	if len(found) != 1 {
		return nil, fmt.Errorf("raftlog: replay: data dir %s holds %d raft logs (%v), want exactly one", dataDir, len(found), found)
	}
	if found[0] == LogStoreBoltDB {
		return openBoltReadOnly(dataDir)
	}
	return openLogStore(dataDir, LogStoreWAL, hclog.NewNullLogger())
}

func validLogStore(kind string) bool { return slices.Contains(LogStores(), kind) }
