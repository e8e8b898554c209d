package mysql

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"
)

// CommitOnePhase writes txID's marker row inside the branch and commits it
// with XA COMMIT ... ONE PHASE: the transaction's only participant decides
// it alone, so no XA PREPARE is needed. The marker row is the durable
// record that txID committed here (a retried request finds it). It refuses
// with participant.ErrAlreadyAborted if txID has an abort tombstone. If
// the COMMIT fails, what the server did is settled first (settleOnePhase):
// nil if it committed after all (an answer lost with the connection), else
// the error, with the abort tombstone recorded; the caller rolls tx back.
func (s *Store) CommitOnePhase(ctx context.Context, txID string, tx *Tx) error {
	if err := s.markCommitted(ctx, "one-phase commit", txID, tx); err != nil {
		return err
	}
	if _, err := tx.conn.ExecContext(ctx, "XA COMMIT "+tx.xid.sql()+" ONE PHASE"); err != nil {
		closeConn(tx.conn) // the server rolls an unprepared branch back when its session ends
		if err := s.settleOnePhase(ctx, txID, classify(err)); err != nil {
			return err
		}
	}
	_ = tx.latch.Finish(errCommitted)
	closeConn(tx.conn)
	s.forget(txID, tx)
	return nil
}

// settleTimeout bounds settleOnePhase's wait for the server.
const settleTimeout = 5 * time.Second

// settleOnePhase learns what an XA COMMIT ONE PHASE that returned
// commitErr did, from a connection of the pool. It writes the abort
// tombstone, whose insert waits on the marker's key while the server is
// still ending the branch, and reads the outcome back: the marker 'C'
// means the commit happened (nil, and a warning: not a heuristic outcome);
// else the tombstone now refuses the marker for good and commitErr is
// returned.
func (s *Store) settleOnePhase(ctx context.Context, txID string, commitErr error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	outcome, err := s.tombstone(ctx, txID)
	if err != nil {
		return fmt.Errorf("mysql: one-phase commit %s: %w (its outcome could not be read: %v)", txID, commitErr, err)
	}
	if outcome != outcomeCommitted {
		return fmt.Errorf("mysql: one-phase commit %s: %w", txID, commitErr)
	}
	s.log.Warn("one-phase XA COMMIT answered an error but committed (the answer was lost)",
		zap.String("tx-id", txID), zap.Error(commitErr))
	return nil
}
