package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/arbiter-tx/arbiter/participant"
	"github.com/jackc/pgx/v5"
)

// Prepare writes txID's marker row inside the local transaction (its
// primary key collides with an abort tombstone, so a late Prepare fails), then runs
// PREPARE TRANSACTION with the gid "arbiter:<participant>:<txID>:<deadline
// unix ms>" and returns the connection to the pool. PostgreSQL flushes the
// prepared state to WAL before answering, whatever synchronous_commit says.
// It refuses with participant.ErrAlreadyAborted if txID has an abort
// tombstone. On error nothing is prepared, unless the connection broke
// during PREPARE: then the outcome is unknown, and the agent's Abort (which
// follows every failed Prepare) rolls the gid back if it exists.
func (s *Store) Prepare(ctx context.Context, txID string, tx pgx.Tx, deadline time.Time) error {
	t, err := s.markCommitted(ctx, "prepare", txID, tx)
	if err != nil {
		return err
	}
	if _, err := t.Tx.Exec(ctx, "PREPARE TRANSACTION "+quoteLiteral(s.gidOf(txID, deadline))); err != nil {
		return fmt.Errorf("postgres: prepare %s: %w", txID, err)
	}
	_ = t.latch.Finish(errPrepared)
	t.conn.Release() // the session is out of the transaction: back to the pool
	s.forget(txID, t)
	return nil
}

// markCommitted checks that tx is txID's live handle and writes txID's
// marker row inside it (refused with ErrAlreadyAborted by a tombstone).
func (s *Store) markCommitted(ctx context.Context, op, txID string, tx pgx.Tx) (*Tx, error) {
	t, ok := tx.(*Tx)
	if !ok || t.id != txID {
		return nil, fmt.Errorf("postgres: %s %s: handle belongs to another transaction", op, txID)
	}
	if err := t.latch.Err(); err != nil {
		return nil, err
	}
	if _, err := t.Tx.Exec(ctx, s.sql.insertMarker, s.id, txID); err != nil {
		if hasCode(err, codeUniqueViolation) {
			return nil, fmt.Errorf("%w: %s has an abort tombstone", participant.ErrAlreadyAborted, txID)
		}
		return nil, fmt.Errorf("postgres: %s %s: write marker: %w", op, txID, err)
	}
	return t, nil
}

// Commit runs COMMIT PREPARED from any connection. Idempotent: nil if the
// marker row is already committed. If the gid is gone and so is the marker,
// the prepared work was rolled back behind our back: ErrHeuristicRollback,
// logged and counted (HeuristicOutcomes). participant.ErrAlreadyAborted if
// txID has an abort tombstone.
func (s *Store) Commit(ctx context.Context, txID string) error {
	if done, err := s.finishPrepared(ctx, "COMMIT PREPARED ", txID); err != nil || done {
		return err
	}
	switch st, err := s.decided(ctx, txID); {
	case err != nil:
		return err
	case st == participant.StateCommitted:
		return nil
	case st == participant.StateAborted:
		return fmt.Errorf("%w: %s", participant.ErrAlreadyAborted, txID)
	}
	return s.heuristic(txID, ErrHeuristicRollback)
}

// Abort runs ROLLBACK PREPARED if txID is prepared, then records an abort
// tombstone, even for a transaction never seen, so that a late Prepare is
// refused. Idempotent. A committed marker means someone ran COMMIT PREPARED
// by hand: ErrHeuristicCommit (wrapping participant.ErrAlreadyCommitted),
// logged and counted. An active, unprepared local transaction keeps running
// until its owner rolls it back; its Prepare will be refused.
func (s *Store) Abort(ctx context.Context, txID string) error {
	if err := validTxID(txID); err != nil {
		return err
	}
	if _, err := s.finishPrepared(ctx, "ROLLBACK PREPARED ", txID); err != nil {
		return err
	}
	var outcome string
	if err := s.pool.QueryRow(ctx, s.sql.tombstone, s.id, txID).Scan(&outcome); err != nil {
		return fmt.Errorf("postgres: abort %s: write tombstone: %w", txID, err)
	}
	if outcome == outcomeCommitted {
		return s.heuristic(txID, ErrHeuristicCommit)
	}
	return nil
}

// finishPrepared runs verb (COMMIT PREPARED or ROLLBACK PREPARED) on txID's
// gid if it is prepared, and reports whether it did. A gid that vanished
// meanwhile is not an error: the caller reads the outcome row next.
func (s *Store) finishPrepared(ctx context.Context, verb, txID string) (bool, error) {
	gid, ok, err := s.findGID(ctx, txID)
	if err != nil || !ok {
		return false, err
	}
	_, err = s.pool.Exec(ctx, verb+quoteLiteral(gid))
	switch {
	case hasCode(err, codeUndefinedObject):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("postgres: %s%s: %w", verb, gid, err)
	}
	return true, nil
}
