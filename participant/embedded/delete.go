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
// transaction in progress has locked (active or prepared) is refused, and
// nothing is deleted; a lock still held by a transaction already committed
// (its locks are released just after its commit's write) does not count.
func (s *Store) Delete(ctx context.Context, keys ...string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.group.write(func(btx *bolt.Tx) error {
		for _, k := range keys {
			if holder, ok := s.locks.holder(k); ok && txState(btx, holder) != participant.StateCommitted {
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
