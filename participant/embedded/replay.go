package embedded

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// replayBatch bounds the records one bbolt transaction of recovery applies.
const replayBatch = 10000

// scanLog reads every record of the intent log in dir that a checkpoint
// had not applied (LSN above applied), in LSN order, without changing
// anything. A damaged tail of the last segment (a write no fdatasync
// covered, so never acknowledged) ends the log; damage anywhere else, or a
// gap in the LSNs, is ErrCorruptLog.
func scanLog(dir string, applied uint64) ([]*record, error) {
	segs, err := listSegments(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil // a store made before the log
	}
	if err != nil {
		return nil, err
	}
	var recs []*record
	for i, first := range segs {
		path := filepath.Join(dir, segName(first))
		_, torn, err := readSegment(path, func(lsn uint64, payload []byte) error {
			if lsn <= applied {
				return nil // applied by a checkpoint
			}
			if want := applied + uint64(len(recs)) + 1; lsn != want {
				return fmt.Errorf("%w: %s: record %d where %d was due", ErrCorruptLog, path, lsn, want)
			}
			r, err := decodeRecord(lsn, payload)
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			recs = append(recs, r)
			return nil
		})
		if err != nil {
			return nil, err
		}
		if torn && i < len(segs)-1 {
			return nil, fmt.Errorf("%w: %s is damaged and is not the last segment: refusing to open (restore the store's directory from a backup)", ErrCorruptLog, path)
		}
	}
	return recs, nil
}

// replay applies recs to bbolt, replayBatch per durable transaction.
func replay(db *bolt.DB, recs []*record) error {
	for len(recs) > 0 {
		n := min(len(recs), replayBatch)
		if err := applyRecords(db, recs[:n]); err != nil {
			return err
		}
		recs = recs[n:]
	}
	return nil
}

// logDir is the intent log's directory for the store at path.
func logDir(path string) string { return path + ".wal" }

func makeLogDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("embedded: intent log directory %s: %w", dir, err)
	}
	return syncDir(filepath.Dir(dir))
}
