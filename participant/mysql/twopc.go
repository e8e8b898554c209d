package mysql

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/arbiter-tx/arbiter/internal/backoff"
	"github.com/arbiter-tx/arbiter/participant"
)

// Prepare writes txID's marker row inside the XA branch (its primary key
// collides with an abort tombstone, so a late Prepare fails), runs XA END
// and XA PREPARE, and closes the branch's connection, which detaches the
// prepared branch from the session: from then on any connection may
// commit or roll it back, and it survives restarts of the service and of
// the server (MariaDB 10.5.2+, MySQL 5.7.7+). The deadline is remembered
// in memory (see Prepared). It refuses with participant.ErrAlreadyAborted
// if txID has an abort tombstone. On error nothing is prepared, unless the
// connection broke during XA PREPARE: then the outcome is unknown, and
// the agent's Abort (which follows every failed Prepare) rolls the branch
// back if it exists.
func (s *Store) Prepare(ctx context.Context, txID string, tx *Tx, deadline time.Time) error {
	if err := s.markCommitted(ctx, "prepare", txID, tx); err != nil {
		return err
	}
	if _, err := tx.conn.ExecContext(ctx, "XA PREPARE "+tx.xid.sql()); err != nil {
		return fmt.Errorf("mysql: XA PREPARE %s: %w", txID, classify(err))
	}
	_ = tx.latch.Finish(errPrepared)
	s.mu.Lock()
	s.branch[txID] = branch{deadline: deadline, connID: tx.connID}
	s.mu.Unlock()
	if !s.keepSession {
		closeConn(tx.conn)
	}
	s.forget(txID, tx)
	return nil
}

// markCommitted checks that tx is txID's live handle, writes txID's marker
// row inside it (refused with ErrAlreadyAborted by a tombstone) and ends
// the branch's work (XA END).
func (s *Store) markCommitted(ctx context.Context, op, txID string, tx *Tx) error {
	if tx == nil || tx.id != txID {
		return fmt.Errorf("mysql: %s %s: handle belongs to another transaction", op, txID)
	}
	if err := tx.latch.Err(); err != nil {
		return err
	}
	if err := liftStatementLimit(ctx, tx); err != nil {
		return fmt.Errorf("mysql: %s %s: %w", op, txID, err)
	}
	if _, err := tx.conn.ExecContext(ctx, qInsertMarker, s.id, txID); err != nil {
		if hasCode(err, errDupEntry) {
			return fmt.Errorf("%w: %s has an abort tombstone", participant.ErrAlreadyAborted, txID)
		}
		return fmt.Errorf("mysql: %s %s: write marker: %w", op, txID, classify(err))
	}
	if _, err := tx.conn.ExecContext(ctx, "XA END "+tx.xid.sql()); err != nil {
		return fmt.Errorf("mysql: %s %s: XA END: %w", op, txID, classify(err))
	}
	return nil
}

// Commit runs XA COMMIT from any connection. Idempotent: nil if the marker
// row is already committed. If the branch is gone and so is the marker,
// the prepared work was rolled back behind our back: ErrHeuristicRollback,
// logged and counted (HeuristicOutcomes). participant.ErrAlreadyAborted if
// txID has an abort tombstone.
func (s *Store) Commit(ctx context.Context, txID string) error {
	if err := validTxID(txID); err != nil {
		return fmt.Errorf("%w: %w", participant.ErrNotPrepared, err)
	}
	if err := s.finishPrepared(ctx, "XA COMMIT", txID); err != nil {
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

// Abort runs XA ROLLBACK if txID is prepared, then records an abort
// tombstone, even for a transaction never seen, so that a late Prepare is
// refused. Idempotent. A committed marker means someone ran XA COMMIT by
// hand: ErrHeuristicCommit (wrapping participant.ErrAlreadyCommitted),
// logged and counted. An active, unprepared branch keeps running until its
// owner rolls it back; its Prepare will be refused.
func (s *Store) Abort(ctx context.Context, txID string) error {
	if err := validRecordID(txID); err != nil {
		return err
	}
	if validTxID(txID) == nil { // an ID too long for an XID was never prepared here
		if err := s.finishPrepared(ctx, "XA ROLLBACK", txID); err != nil {
			return err
		}
	}
	outcome, err := s.tombstone(ctx, txID)
	if err != nil {
		return fmt.Errorf("mysql: abort %s: write tombstone: %w", txID, err)
	}
	if outcome == outcomeCommitted {
		return s.heuristic(txID, ErrHeuristicCommit)
	}
	return nil
}

// tombstone writes txID's abort tombstone unless an outcome is recorded,
// and returns the recorded outcome, in one local transaction.
func (s *Store) tombstone(ctx context.Context, txID string) (string, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, qTombstone, s.id, txID); err != nil {
		return "", err
	}
	var outcome string
	if err := tx.QueryRowContext(ctx, qOutcomeLocked, s.id, txID).Scan(&outcome); err != nil {
		return "", err
	}
	return outcome, tx.Commit()
}

// detachWait bounds how long finishPrepared waits for a prepared branch
// to leave the session it was prepared on.
const detachWait = 10 * time.Second

// finishPrepared runs verb (XA COMMIT or XA ROLLBACK) on txID's branch if
// it is prepared. A branch that vanished meanwhile is not an error: the
// caller reads the outcome row next. A branch still attached to the
// session that prepared it (that session is still ending, or hangs) is
// refused with XAER_NOTA: the session is killed (KILL CONNECTION, when
// this process prepared the branch and knows it) and verb retried.
func (s *Store) finishPrepared(ctx context.Context, verb, txID string) error {
	x := s.xidOf(txID)
	end := time.Now().Add(detachWait)
	for attempt := 0; ; attempt++ {
		if ok, err := s.isPrepared(ctx, txID); err != nil || !ok {
			s.decidedBranch(txID)
			return err
		}
		_, err := s.db.ExecContext(ctx, verb+" "+x.sql())
		switch {
		case err == nil:
			s.decidedBranch(txID)
			return nil
		case !hasCode(err, errXAERNota) || time.Now().After(end):
			return fmt.Errorf("mysql: %s %s: %w", verb, x, err)
		}
		s.detach(ctx, txID)
		if !backoff.Sleep(ctx, min(time.Duration(attempt+1)*10*time.Millisecond, 200*time.Millisecond)) {
			return ctx.Err()
		}
	}
}

// detach kills the session that prepared txID's branch, if this process
// knows it, so that the branch is freed for another session.
func (s *Store) detach(ctx context.Context, txID string) {
	s.mu.Lock()
	b, ok := s.branch[txID]
	s.mu.Unlock()
	if !ok || b.connID == 0 {
		return
	}
	_, err := s.db.ExecContext(ctx, fmt.Sprintf("KILL CONNECTION %d", b.connID))
	if err != nil && !hasCode(err, errNoSuchThread) {
		s.log.Warn("kill the session holding a prepared branch", zap.String("tx-id", txID), zap.Int64("connection-id", b.connID), zap.Error(err))
		return
	}
	s.mu.Lock()
	if cur, ok := s.branch[txID]; ok && cur.connID == b.connID {
		cur.connID = 0
		s.branch[txID] = cur
	}
	s.mu.Unlock()
}

// decidedBranch forgets what this process remembered of txID's branch.
func (s *Store) decidedBranch(txID string) {
	s.mu.Lock()
	delete(s.branch, txID)
	s.mu.Unlock()
}
