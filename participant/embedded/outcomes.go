package embedded

import (
	"github.com/arbiter-tx/arbiter/participant"
	bolt "go.etcd.io/bbolt"
)

// Outcomes lists every transaction whose outcome this store recorded,
// committed or aborted. The fault suite reads it after a run to check that
// every participant applied what the coordinators decided.
func (s *Store) Outcomes() (map[string]participant.State, error) {
	out := make(map[string]participant.State)
	err := s.db.View(func(btx *bolt.Tx) error {
		return btx.Bucket(bucketOutcomes).ForEach(func(k, v []byte) error {
			if len(v) == 1 && v[0] == outcomeCommitted {
				out[string(k)] = participant.StateCommitted
			} else if len(v) == 1 && v[0] == outcomeAborted {
				out[string(k)] = participant.StateAborted
			}
			return nil
		})
	})
	return out, err
}
