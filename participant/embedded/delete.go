package embedded

import (
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/arbiter-tx/arbiter/participant"
)

// Delete removes committed keys in one durable write, outside any
// two-phase transaction: for an owner that has handed the values on (the
// outbox participant, once its broker acknowledged them). A key that a
// transaction in progress has locked (active or prepared, or committed in
// the intent log but not yet checkpointed) is refused, and nothing is
// deleted; a lock still held by a transaction already checkpointed as
// committed does not count.
//
// Deletes are rare, so they go to bbolt directly rather than through the
// intent log: every pending record is checkpointed first, and no other
// checkpoint runs until the delete is durable, so no logged write of these
// keys can land after it unseen.
func (s *Store) Delete(ctx context.Context, keys ...string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.ckMu.Lock()
	defer s.ckMu.Unlock()
	if err := s.checkpointLocked(); err != nil {
		return err
	}
	return s.db.Update(func(btx *bolt.Tx) error {
		s.ov.mu.RLock()
		pending := len(s.ov.pending)
		s.ov.mu.RUnlock()
		for _, k := range keys {
			if holder, ok := s.locks.holder(k); ok && (pending > 0 || txState(btx, holder) != participant.StateCommitted) {
				return fmt.Errorf("embedded: delete %q: locked by transaction %s", k, holder)
			}
		}
		data := btx.Bucket(bucketData)
		for _, k := range keys {
			if err := data.Delete([]byte(k)); err != nil {
				return err
			}
		}
		return nil
	})
}
