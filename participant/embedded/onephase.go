package embedded

import (
	"context"

	"github.com/arbiter-tx/arbiter/participant/internal/txstate"
)

// CommitOnePhase applies tx's writes and records the outcome COMMITTED in
// one durable write, without a prepared intent: the agent calls it when this
// participant is the transaction's only one, so its commit is the decision.
// It refuses with participant.ErrAlreadyAborted (or ErrAlreadyCommitted) if
// txID was decided here. On error nothing is applied and the caller rolls
// tx back.
func (s *Store) CommitOnePhase(ctx context.Context, txID string, tx *Tx) error {
	if err := usable(ctx, "one-phase commit", txID, tx); err != nil {
		return err
	}
	writes, _ := tx.snapshot()
	if err := checkWrites(writes); err != nil {
		return err
	}
	if err := checkIntent(txID, intent{writes: writes}.encode()); err != nil {
		return err // the log record must fit, as a prepared intent must
	}
	at := s.opts.Now()
	err := s.group.write(func(v *groupView) (*record, error) {
		if err := txstate.NeedNone(v.state(txID), txID); err != nil {
			return nil, err
		}
		return &record{kind: recOnePhase, txID: txID, at: at, writes: writes}, nil
	})
	if err != nil {
		return err
	}
	_ = tx.latch.Finish(errCommitted)
	s.forget(txID, tx)
	s.locks.releaseAll(txID)
	return nil
}

// ReadOnly reports whether tx has written nothing (it may have read and
// locked keys): such a transaction can vote read-only and skip phase 2.
func (s *Store) ReadOnly(tx *Tx) bool {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	return len(tx.writes) == 0
}
