package embedded

import (
	"encoding/binary"
	"time"

	"github.com/arbiter-tx/arbiter/participant"
	bolt "go.etcd.io/bbolt"
)

// An outcomes value is the outcome byte ('C' or 'A') then the decision
// time (unix nanos, 8 bytes big endian). Records written before pruning
// existed are the byte alone: Open stamps them (stampLegacyOutcomes). Each
// record has an entry in the decided bucket, keyed by decision time and
// tx ID, so pruning reads the oldest first and never scans the rest.
const outcomeLen = 9

// outcomeState decodes an outcomes value; ok is false for none.
func outcomeState(v []byte) (participant.State, bool) {
	if len(v) != 1 && len(v) != outcomeLen {
		return participant.StateNone, false
	}
	switch v[0] {
	case outcomeCommitted:
		return participant.StateCommitted, true
	case outcomeAborted:
		return participant.StateAborted, true
	}
	return participant.StateNone, false
}

// recordOutcome records txID's outcome o, decided at at, and indexes it.
func recordOutcome(btx *bolt.Tx, txID string, o byte, at time.Time) error {
	v := binary.BigEndian.AppendUint64([]byte{o}, uint64(at.UnixNano()))
	if err := btx.Bucket(bucketOutcomes).Put([]byte(txID), v); err != nil {
		return err
	}
	decided := btx.Bucket(bucketDecided)
	decided.FillPercent = 0.9 // keys mostly arrive in time order: fill pages
	return decided.Put(decidedKey(v[1:], txID), []byte{})
}

// decidedKey is a decided bucket key: 8 bytes of decision time, tx ID.
func decidedKey(at []byte, txID string) []byte {
	return append(append(make([]byte, 0, 8+len(txID)), at...), txID...)
}

// Outcomes lists every transaction whose outcome this store recorded,
// committed or aborted, and not yet pruned. The fault suite reads it after
// a run to check that every participant applied what the coordinators
// decided.
func (s *Store) Outcomes() (map[string]participant.State, error) {
	btx, txs, _, err := s.snapshot()
	if err != nil {
		return nil, err
	}
	defer func() { _ = btx.Rollback() }()
	out := make(map[string]participant.State)
	err = btx.Bucket(bucketOutcomes).ForEach(func(k, v []byte) error {
		if st, ok := outcomeState(v); ok {
			out[string(k)] = st
		}
		return nil
	})
	for id, e := range txs {
		if e.state == participant.StatePrepared {
			delete(out, id)
		} else {
			out[id] = e.state
		}
	}
	return out, err
}

// keyStamped marks in meta that every outcome record carries its time.
var keyStamped = []byte("outcomes-stamped")

// stampBatch bounds the legacy records stamped per bbolt transaction.
const stampBatch = 10000

// stampLegacyOutcomes gives every outcome record written before pruning
// existed (the outcome byte alone) this Open's time as its decision time,
// and indexes it, in bounded batches: such records are pruned a retention
// from now. Once done, a meta key saves later Opens the scan.
func (s *Store) stampLegacyOutcomes() error {
	var after []byte
	for done := false; !done; {
		err := s.db.Update(func(btx *bolt.Tx) error {
			if btx.Bucket(bucketMeta).Get(keyStamped) != nil {
				done = true
				return nil
			}
			var err error
			after, done, err = stampSome(btx, after, s.opts.Now())
			if err == nil && done {
				err = btx.Bucket(bucketMeta).Put(keyStamped, []byte{1})
			}
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// stampSome stamps the legacy records among the stampBatch outcome keys
// after after, and returns the last key seen and whether none are left.
func stampSome(btx *bolt.Tx, after []byte, at time.Time) (last []byte, done bool, err error) {
	c := btx.Bucket(bucketOutcomes).Cursor()
	k, v := c.First()
	if after != nil {
		if k, v = c.Seek(after); k != nil && string(k) == string(after) {
			k, v = c.Next()
		}
	}
	var legacy [][]byte // key, then the outcome byte
	for n := 0; k != nil && n < stampBatch; k, v = c.Next() {
		n++
		last = append([]byte{}, k...)
		if len(v) == 1 {
			legacy = append(legacy, last, []byte{v[0]})
		}
	}
	for i := 0; i < len(legacy); i += 2 {
		if err := recordOutcome(btx, string(legacy[i]), legacy[i+1][0], at); err != nil {
			return nil, false, err
		}
	}
	return last, k == nil, nil
}
