package embedded

import (
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Delete removes committed keys in one durable write, outside any
// two-phase transaction: for an owner that has handed the values on (the
// outbox participant, once its broker acknowledged them). A key that a
// transaction in progress has locked is refused, and nothing is deleted.
func (s *Store) Delete(ctx context.Context, keys ...string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, k := range keys {
		if holder, ok := s.locks.holder(k); ok {
			return fmt.Errorf("embedded: delete %q: locked by transaction %s", k, holder)
		}
	}
	return s.group.write(func(btx *bolt.Tx) error {
		data := btx.Bucket(bucketData)
		for _, k := range keys {
			if err := data.Delete([]byte(k)); err != nil {
				return err
			}
		}
		return nil
	})
}
