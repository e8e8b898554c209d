package embedded

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/arbiter-tx/arbiter/participant"
	bolt "go.etcd.io/bbolt"
)

var _ participant.OutcomePruner = (*Store)(nil)

// pruneBatch bounds the records one bbolt transaction of PruneOutcomes
// deletes, so a long backlog never holds the writer for long.
const pruneBatch = 1000

// PruneOutcomes deletes the outcome records (commit outcomes and abort
// tombstones) decided more than olderThan ago, oldest first, pruneBatch per
// durable write, and returns how many it deleted. It checkpoints first, so
// every outcome the intent log holds is in bbolt, where pruning works. Prepared work has no
// outcome record, so it is never touched, however old. A transaction whose
// record is gone reads as never seen: a Commit is then refused with
// ErrNotPrepared, an Abort writes a fresh tombstone, and a Prepare would run
// its payload again, which is why the agent prunes only past the
// coordinators' uniqueness window.
func (s *Store) PruneOutcomes(ctx context.Context, olderThan time.Duration) (int, error) {
	if olderThan <= 0 {
		return 0, fmt.Errorf("embedded: prune retention must be positive, got %v", olderThan)
	}
	cutoff := s.opts.Now().Add(-olderThan)
	if err := s.checkpoint(); err != nil { // every logged outcome into bbolt
		return 0, err
	}
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, more, err := s.pruneSome(cutoff)
		total += n
		if err != nil || !more {
			return total, err
		}
	}
}

// pruneSome deletes up to pruneBatch records decided before cutoff, in one
// bbolt transaction, and reports whether more may be left.
func (s *Store) pruneSome(cutoff time.Time) (n int, more bool, err error) {
	err = s.db.Update(func(btx *bolt.Tx) error {
		n, more = 0, false
		keys := decidedBefore(btx, cutoff)
		for _, k := range keys {
			deleted, err := pruneOne(btx, k)
			if err != nil {
				return err
			}
			if deleted {
				n++
			}
		}
		more = len(keys) == pruneBatch
		return nil
	})
	if err != nil {
		return 0, false, err
	}
	return n, more, nil
}

// decidedBefore lists up to pruneBatch decided keys older than cutoff,
// oldest first (copies: the caller deletes them).
func decidedBefore(btx *bolt.Tx, cutoff time.Time) [][]byte {
	limit := binary.BigEndian.AppendUint64(nil, uint64(cutoff.UnixNano()))
	var keys [][]byte
	c := btx.Bucket(bucketDecided).Cursor()
	for k, _ := c.First(); k != nil && len(keys) < pruneBatch && string(k[:8]) < string(limit); k, _ = c.Next() {
		keys = append(keys, append([]byte{}, k...))
	}
	return keys
}

// pruneOne deletes a decided key and the outcome record it indexes, unless
// that record is not the indexed one or its transaction has an intent
// (never prune in-doubt work). It reports whether the record went.
func pruneOne(btx *bolt.Tx, key []byte) (bool, error) {
	if err := btx.Bucket(bucketDecided).Delete(key); err != nil {
		return false, err
	}
	txID, outcomes := key[8:], btx.Bucket(bucketOutcomes)
	v := outcomes.Get(txID)
	if len(v) != outcomeLen || string(v[1:]) != string(key[:8]) || btx.Bucket(bucketIntents).Get(txID) != nil {
		return false, nil
	}
	return true, outcomes.Delete(txID)
}
