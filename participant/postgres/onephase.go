package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"
)

// CommitOnePhase writes txID's marker row inside the local transaction and
// commits it with a plain COMMIT: the transaction's only participant
// decides it alone, so no PREPARE TRANSACTION is needed. The marker row is
// the durable record that txID committed here (a retried request finds it).
// It refuses with participant.ErrAlreadyAborted if txID has an abort
// tombstone. If the COMMIT fails, what the server did is settled first
// (settleOnePhase): nil if it committed after all (an answer lost with the
// connection), else the error, with the abort tombstone recorded; the
// caller rolls tx back.
func (s *Store) CommitOnePhase(ctx context.Context, txID string, tx pgx.Tx) error {
	t, err := s.markCommitted(ctx, "one-phase commit", txID, tx)
	if err != nil {
		return err
	}
	if err := t.Tx.Commit(ctx); err != nil {
		if err := s.settleOnePhase(ctx, txID, err); err != nil {
			return err
		}
	}
	_ = t.latch.Finish(errCommitted)
	t.conn.Release()
	s.forget(txID, t)
	return nil
}

// settleTimeout bounds settleOnePhase's wait for the server.
const settleTimeout = 5 * time.Second

// settleOnePhase learns what a COMMIT that returned commitErr did, from a
// connection of the pool. It writes the abort tombstone, whose insert waits
// for the local transaction if the server is still ending it, and reads
// the outcome row back: the marker 'C' means the COMMIT happened (nil, and
// a warning: not a heuristic outcome); else the tombstone now refuses the
// marker for good and commitErr is returned.
func (s *Store) settleOnePhase(ctx context.Context, txID string, commitErr error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	var outcome string
	if err := s.pool.QueryRow(ctx, s.sql.tombstone, s.id, txID).Scan(&outcome); err != nil {
		return fmt.Errorf("postgres: one-phase commit %s: %w (its outcome could not be read: %v)", txID, commitErr, err)
	}
	if outcome != outcomeCommitted {
		return fmt.Errorf("postgres: one-phase commit %s: %w", txID, commitErr)
	}
	s.log.Warn("one-phase COMMIT answered an error but committed (the answer was lost)",
		zap.String("tx-id", txID), zap.Error(commitErr))
	return nil
}
