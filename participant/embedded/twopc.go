package embedded

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/arbiter-tx/arbiter/participant"
	"github.com/arbiter-tx/arbiter/participant/internal/txstate"
	bolt "go.etcd.io/bbolt"
)

// Prepare writes tx's buffered writes and the keys it only read as a
// durable intent with deadline: it returns after the intent-log fdatasync
// that covers it (shared with concurrent writes). tx keeps its locks until Commit
// or Abort. It first checks everything Commit will need (every key and
// value within bbolt's limits), so a prepared intent always commits. It
// refuses with participant.ErrAlreadyAborted if txID was aborted. Calls
// for one txID must not run concurrently (the agent serializes them).
func (s *Store) Prepare(ctx context.Context, txID string, tx *Tx, deadline time.Time) error {
	if err := usable(ctx, "prepare", txID, tx); err != nil {
		return err
	}
	writes, reads := tx.snapshot()
	if err := checkWrites(writes); err != nil {
		return err
	}
	rec := intent{deadline: deadline, writes: writes, reads: reads}.encode()
	if err := checkIntent(txID, rec); err != nil {
		return err
	}
	err := s.group.write(func(v *groupView) (*record, error) {
		if err := txstate.NeedNone(v.state(txID), txID); err != nil {
			return nil, err
		}
		return &record{kind: recPrepare, txID: txID, intent: rec}, nil
	})
	if err != nil {
		return err
	}
	_ = tx.latch.Finish(errPrepared)
	s.forget(txID, tx)
	return nil
}

// Commit durably records txID committed (one intent-log record: the
// intent's writes are applied, the intent deleted and the outcome recorded
// together, in the overlay at once and in bbolt at the next checkpoint),
// then releases its locks. Idempotent: a retry writes nothing.
func (s *Store) Commit(ctx context.Context, txID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	at := s.opts.Now()
	err := s.group.write(func(v *groupView) (*record, error) {
		switch st := v.state(txID); st {
		case participant.StateCommitted:
			return nil, nil
		case participant.StateNone:
			return nil, fmt.Errorf("%w: %s", participant.ErrNotPrepared, txID)
		case participant.StateAborted:
			return nil, txstate.NeedNone(st, txID)
		}
		in, err := v.intent(txID)
		if err != nil {
			return nil, fmt.Errorf("embedded: commit %s: %w", txID, err)
		}
		return &record{kind: recCommit, txID: txID, at: at, writes: in.writes}, nil
	})
	if err != nil {
		return err
	}
	s.locks.releaseAll(txID)
	return nil
}

// usable checks that tx is txID's live handle before op uses it.
func usable(ctx context.Context, op, txID string, tx *Tx) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if tx == nil || tx.id != txID {
		return fmt.Errorf("embedded: %s %s: handle belongs to another transaction", op, txID)
	}
	return tx.latch.Err()
}

func applyIntent(btx *bolt.Tx, txID string, at time.Time) error {
	in, err := decodeIntent(btx.Bucket(bucketIntents).Get([]byte(txID)))
	if err != nil {
		return fmt.Errorf("embedded: commit %s: %w", txID, err)
	}
	if err := btx.Bucket(bucketIntents).Delete([]byte(txID)); err != nil {
		return err
	}
	return applyCommitted(btx, txID, in.writes, at)
}

// applyCommitted writes a transaction's writes to the data and records it
// committed at at, inside btx.
func applyCommitted(btx *bolt.Tx, txID string, writes map[string][]byte, at time.Time) error {
	data := btx.Bucket(bucketData)
	for k, v := range writes {
		if err := data.Put([]byte(k), v); err != nil {
			return err
		}
	}
	return recordOutcome(btx, txID, outcomeCommitted, at)
}

// Abort discards txID's work (its intent, or an active local transaction,
// which becomes unusable) and records an abort tombstone, even for a
// transaction never seen. Idempotent; participant.ErrAlreadyCommitted if
// txID was committed.
func (s *Store) Abort(ctx context.Context, txID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkTxID(txID); err != nil {
		return err
	}
	at := s.opts.Now()
	err := s.group.write(func(v *groupView) (*record, error) {
		switch st := v.state(txID); st {
		case participant.StateAborted:
			return nil, nil
		case participant.StateCommitted:
			return nil, txstate.NeedNone(st, txID)
		}
		return &record{kind: recAbort, txID: txID, at: at}, nil
	})
	if err != nil {
		return err
	}
	s.doom(txID)
	s.locks.releaseAll(txID)
	return nil
}

// doom makes txID's active local transaction, if any, unusable.
func (s *Store) doom(txID string) {
	s.mu.Lock()
	t := s.active[txID]
	delete(s.active, txID)
	s.mu.Unlock()
	if t != nil {
		_ = t.latch.Finish(fmt.Errorf("%w: %s", participant.ErrAlreadyAborted, txID))
	}
}

// Prepared lists every prepared transaction with its deadline, by tx ID.
func (s *Store) Prepared(ctx context.Context) ([]participant.PreparedTx, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	btx, txs, _, err := s.snapshot()
	if err != nil {
		return nil, err
	}
	defer func() { _ = btx.Rollback() }()
	var out []participant.PreparedTx
	for id, e := range txs {
		if e.state == participant.StatePrepared {
			out = append(out, participant.PreparedTx{TxID: id, Deadline: e.deadline})
		}
	}
	err = btx.Bucket(bucketIntents).ForEach(func(k, v []byte) error {
		if _, hit := txs[string(k)]; hit {
			return nil // the overlay has its latest state
		}
		in, err := decodeIntent(v)
		if err != nil {
			return fmt.Errorf("embedded: intent %s: %w", k, err)
		}
		out = append(out, participant.PreparedTx{TxID: string(k), Deadline: in.deadline})
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].TxID < out[j].TxID })
	return out, err
}
