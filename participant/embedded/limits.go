package embedded

import (
	"fmt"

	"github.com/arbiter-tx/arbiter/participant"
	bolt "go.etcd.io/bbolt"
)

// ErrInvalidWrite is returned by Tx.Put (and Prepare, CommitOnePhase) for
// a key or value bbolt cannot store: it is participant.ErrInvalidWrite, so
// a branch that makes such a write votes no instead of promising a commit
// that would fail forever.
var ErrInvalidWrite = participant.ErrInvalidWrite

// maxTxIDLen bounds a transaction ID: it is a key in the intents and
// outcomes buckets, and the suffix of a key in the decided index (after 8
// bytes of time).
const maxTxIDLen = bolt.MaxKeySize - 8

// checkWrite reports whether bbolt can store key=value in the data bucket.
func checkWrite(key string, value []byte) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty key (keys are 1 to %d bytes)", ErrInvalidWrite, bolt.MaxKeySize)
	case len(key) > bolt.MaxKeySize:
		return fmt.Errorf("%w: key %.32q... is %d bytes, longer than bbolt's limit of %d bytes", ErrInvalidWrite, key, len(key), bolt.MaxKeySize)
	case int64(len(value)) > bolt.MaxValueSize:
		return fmt.Errorf("%w: value of key %.32q is %d bytes, larger than bbolt's limit of %d bytes", ErrInvalidWrite, key, len(value), int64(bolt.MaxValueSize))
	}
	return nil
}

// checkWrites checks every write a commit will apply.
func checkWrites(writes map[string][]byte) error {
	for k, v := range writes {
		if err := checkWrite(k, v); err != nil {
			return err
		}
	}
	return nil
}

// checkIntent checks that the encoded intent of txID fits in bbolt (and
// so in one intent-log record).
func checkIntent(txID string, rec []byte) error {
	if int64(len(rec)) > bolt.MaxValueSize {
		return fmt.Errorf("%w: transaction %s's writes encode to %d bytes, more than bbolt's value limit of %d bytes", ErrInvalidWrite, txID, len(rec), int64(bolt.MaxValueSize))
	}
	return nil
}

// checkTxID reports whether txID can key the store's buckets.
func checkTxID(txID string) error {
	switch {
	case txID == "":
		return errEmptyTxID
	case len(txID) > maxTxIDLen:
		return fmt.Errorf("embedded: transaction ID of %d bytes is longer than the store's limit of %d bytes", len(txID), maxTxIDLen)
	}
	return nil
}
