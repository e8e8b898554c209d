package embedded

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/arbiter-tx/arbiter/participant"
	bolt "go.etcd.io/bbolt"
)

// Record kinds in the intent log. A payload is the kind byte, then the
// transaction ID (uvarint length, bytes), then per kind: prepare, the
// encoded intent; commit and abort, the decision time (unix nanos, 8 bytes
// big endian); one-phase, the decision time and the writes as an encoded
// intent; term, no transaction ID, the term (8 bytes).
const (
	recPrepare  byte = 'P'
	recCommit   byte = 'C'
	recAbort    byte = 'A'
	recOnePhase byte = '1'
	recTerm     byte = 'T'
)

// record is one durable change: what a prepare, decision or term raise
// appends to the intent log, and later applies to bbolt at a checkpoint.
type record struct {
	lsn    uint64
	kind   byte
	txID   string
	at     time.Time         // commit, abort, one-phase: the decision time
	intent []byte            // prepare: the encoded intent
	writes map[string][]byte // commit, one-phase: what the commit applies (in memory only for commit)
	term   uint64
	size   int // bytes in the log
}

func (r *record) encode() []byte {
	b := []byte{r.kind}
	if r.kind == recTerm {
		return binary.BigEndian.AppendUint64(b, r.term)
	}
	b = appendBytes(b, []byte(r.txID))
	switch r.kind {
	case recPrepare:
		return append(b, r.intent...)
	case recOnePhase:
		b = binary.BigEndian.AppendUint64(b, uint64(r.at.UnixNano()))
		return append(b, intent{writes: r.writes}.encode()...)
	}
	return binary.BigEndian.AppendUint64(b, uint64(r.at.UnixNano()))
}

func decodeRecord(lsn uint64, b []byte) (*record, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty record %d", ErrCorruptLog, lsn)
	}
	r := &record{lsn: lsn, kind: b[0]}
	if r.kind == recTerm {
		if len(b) != 9 {
			return nil, fmt.Errorf("%w: record %d: bad term", ErrCorruptLog, lsn)
		}
		r.term = binary.BigEndian.Uint64(b[1:])
		return r, nil
	}
	id, rest, err := readBytes(b[1:])
	if err != nil {
		return nil, fmt.Errorf("%w: record %d: %v", ErrCorruptLog, lsn, err)
	}
	r.txID = string(id)
	return r, r.decodeBody(rest)
}

func (r *record) decodeBody(rest []byte) error {
	switch r.kind {
	case recPrepare:
		if _, err := decodeIntent(rest); err != nil {
			return fmt.Errorf("%w: record %d: %v", ErrCorruptLog, r.lsn, err)
		}
		r.intent = append([]byte{}, rest...)
		return nil
	case recCommit, recAbort, recOnePhase:
		if len(rest) < 8 || (r.kind != recOnePhase && len(rest) != 8) {
			return fmt.Errorf("%w: record %d: bad decision time", ErrCorruptLog, r.lsn)
		}
		r.at = time.Unix(0, int64(binary.BigEndian.Uint64(rest)))
	default:
		return fmt.Errorf("%w: record %d: unknown kind %q", ErrCorruptLog, r.lsn, r.kind)
	}
	if r.kind == recOnePhase {
		in, err := decodeIntent(rest[8:])
		if err != nil {
			return fmt.Errorf("%w: record %d: %v", ErrCorruptLog, r.lsn, err)
		}
		r.writes = in.writes
	}
	return nil
}

// state is what the record leaves its transaction in.
func (r *record) state() participant.State {
	switch r.kind {
	case recPrepare:
		return participant.StatePrepared
	case recAbort:
		return participant.StateAborted
	}
	return participant.StateCommitted
}

// apply makes the record's change in bbolt, as the store did before the
// log: a checkpoint applies records in LSN order, each exactly once.
func (r *record) apply(btx *bolt.Tx) error {
	switch r.kind {
	case recPrepare:
		return btx.Bucket(bucketIntents).Put([]byte(r.txID), r.intent)
	case recCommit:
		return applyIntent(btx, r.txID, r.at)
	case recAbort:
		if err := btx.Bucket(bucketIntents).Delete([]byte(r.txID)); err != nil {
			return err
		}
		return recordOutcome(btx, r.txID, outcomeAborted, r.at)
	case recOnePhase:
		return applyCommitted(btx, r.txID, r.writes, r.at)
	case recTerm:
		if r.term <= readTerm(btx) {
			return nil
		}
		return btx.Bucket(bucketMeta).Put(keyTerm, binary.BigEndian.AppendUint64(nil, r.term))
	}
	return fmt.Errorf("%w: record %d: unknown kind %q", ErrCorruptLog, r.lsn, r.kind)
}
