package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// CommitOnePhase writes txID's marker row inside the local transaction and
// commits it with a plain COMMIT: the transaction's only participant
// decides it alone, so no PREPARE TRANSACTION is needed. The marker row is
// the durable record that txID committed here (a retried request finds it).
// It refuses with participant.ErrAlreadyAborted if txID has an abort
// tombstone; on error nothing is applied and the caller rolls tx back.
func (s *Store) CommitOnePhase(ctx context.Context, txID string, tx pgx.Tx) error {
	t, err := s.markCommitted(ctx, "one-phase commit", txID, tx)
	if err != nil {
		return err
	}
	if err := t.Tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: one-phase commit %s: %w", txID, err)
	}
	_ = t.finish(errCommitted)
	t.conn.Release()
	s.forget(txID, t)
	return nil
}
