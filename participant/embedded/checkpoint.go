package embedded

import (
	"encoding/binary"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A checkpoint applies the records the intent log made durable to bbolt
// in one bbolt transaction (its usual two fdatasyncs, off the write path),
// with the LSN of the last one, then drops them from the overlay and
// deletes the log segments they filled. It runs when this many records or
// bytes are pending, every checkpointEvery, before a prune, and at Close.
const (
	checkpointRecords = 4096
	checkpointBytes   = 2 << 20
	checkpointEvery   = time.Second
)

// keyApplied (meta) holds the LSN of the last record applied to bbolt.
var keyApplied = []byte("log-applied")

func readApplied(btx *bolt.Tx) uint64 {
	v := btx.Bucket(bucketMeta).Get(keyApplied)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

// applyRecords applies recs (consecutive LSNs) to bbolt in one durable
// transaction and records the last LSN applied.
func applyRecords(db *bolt.DB, recs []*record) error {
	return db.Update(func(btx *bolt.Tx) error {
		for _, r := range recs {
			if err := r.apply(btx); err != nil {
				return err
			}
		}
		return btx.Bucket(bucketMeta).Put(keyApplied, binary.BigEndian.AppendUint64(nil, recs[len(recs)-1].lsn))
	})
}

// checkpoint applies every pending record to bbolt. One runs at a time.
func (s *Store) checkpoint() error {
	s.ckMu.Lock()
	defer s.ckMu.Unlock()
	return s.checkpointLocked()
}

// checkpointLocked is checkpoint with s.ckMu held.
func (s *Store) checkpointLocked() error {
	s.ov.mu.RLock()
	recs := append([]*record{}, s.ov.pending...)
	s.ov.mu.RUnlock()
	if len(recs) == 0 {
		return nil
	}
	if err := applyRecords(s.db, recs); err != nil {
		return err
	}
	s.ov.mu.Lock()
	s.ov.drop(len(recs))
	s.ov.mu.Unlock()
	return s.log.removeThrough(recs[len(recs)-1].lsn)
}

func (s *Store) kickCheckpoint() {
	select {
	case s.ckKick <- struct{}{}:
	default:
	}
}

// runCheckpoints checkpoints when kicked and every checkpointEvery. A
// failed checkpoint is retried at the next; the log keeps the records.
func (s *Store) runCheckpoints() {
	defer s.ckWG.Done()
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-s.ckKick:
		case <-t.C:
		case <-s.ckQuit:
			return
		}
		_ = s.checkpoint() // kept in the log; Close returns its own attempt's error
	}
}
