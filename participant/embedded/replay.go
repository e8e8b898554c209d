package embedded

import (
	"fmt"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// replayBatch bounds the records one bbolt transaction of recovery applies.
const replayBatch = 10000

// replay applies to bbolt every record of the intent log in dir that a
// checkpoint had not applied, in LSN order, and returns the LSN of the
// last record now in bbolt. A damaged tail of the last segment (a write
// no fdatasync covered, so never acknowledged) ends the log; damage
// anywhere else, or a gap in the LSNs, is ErrCorruptLog.
func replay(db *bolt.DB, dir string) (last uint64, err error) {
	if err := db.View(func(btx *bolt.Tx) error { last = readApplied(btx); return nil }); err != nil {
		return 0, err
	}
	segs, err := listSegments(dir)
	if err != nil {
		return 0, err
	}
	var recs []*record
	for i, first := range segs {
		path := filepath.Join(dir, segName(first))
		_, torn, err := readSegment(path, func(lsn uint64, payload []byte) error {
			if lsn <= last {
				return nil // applied by a checkpoint
			}
			if lsn != last+uint64(len(recs))+1 {
				return fmt.Errorf("%w: %s: record %d follows %d", ErrCorruptLog, path, lsn, last+uint64(len(recs)))
			}
			r, err := decodeRecord(lsn, payload)
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			if recs = append(recs, r); len(recs) == replayBatch {
				err = applyRecords(db, recs)
				last, recs = lsn, recs[:0]
			}
			return err
		})
		if err != nil {
			return 0, err
		}
		if torn && i < len(segs)-1 {
			return 0, fmt.Errorf("%w: %s is damaged and is not the last segment: refusing to open (restore the store's directory from a backup)", ErrCorruptLog, path)
		}
	}
	if len(recs) > 0 {
		if err := applyRecords(db, recs); err != nil {
			return 0, err
		}
		last = recs[len(recs)-1].lsn
	}
	return last, nil
}

// logDir is the intent log's directory for the store at path.
func logDir(path string) string { return path + ".wal" }

func makeLogDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("embedded: intent log directory %s: %w", dir, err)
	}
	return syncDir(filepath.Dir(dir))
}
