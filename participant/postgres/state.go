package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/arbiter-tx/arbiter/participant"
	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"
)

// State reports txID's durable state: Prepared if its gid is in
// pg_prepared_xacts, else Committed if its marker row is visible, else
// Aborted if it has a tombstone, else None. The gid is read first and the
// rows after, on a later snapshot, so a COMMIT PREPARED running meanwhile
// shows as Prepared or Committed, never as None.
func (s *Store) State(ctx context.Context, txID string) (participant.State, error) {
	_, prepared, err := s.findGID(ctx, txID)
	switch {
	case err != nil:
		return participant.StateNone, err
	case prepared:
		return participant.StatePrepared, nil
	}
	return s.decided(ctx, txID)
}

// decided reads the marker and the tombstone of a transaction that is not
// prepared: Committed, Aborted or None.
func (s *Store) decided(ctx context.Context, txID string) (participant.State, error) {
	var outcome string
	err := s.pool.QueryRow(ctx, s.sql.outcome, s.id, txID).Scan(&outcome)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return participant.StateNone, nil
	case err != nil:
		return participant.StateNone, fmt.Errorf("postgres: state of %s: %w", txID, err)
	case outcome == outcomeCommitted:
		return participant.StateCommitted, nil
	}
	return participant.StateAborted, nil
}

// findGID returns txID's gid if it is prepared in this database.
func (s *Store) findGID(ctx context.Context, txID string) (string, bool, error) {
	var gid string
	err := s.pool.QueryRow(ctx, s.sql.findPrepared, s.txPrefix(txID)).Scan(&gid)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("postgres: look up prepared %s: %w", txID, err)
	}
	return gid, true, nil
}

// Prepared lists this participant's prepared transactions from
// pg_prepared_xacts (gid prefix "arbiter:<participant>:"), with the
// deadline carried in each gid.
func (s *Store) Prepared(ctx context.Context) ([]participant.PreparedTx, error) {
	rows, err := s.pool.Query(ctx, s.sql.listPrepared, s.participantPrefix())
	if err != nil {
		return nil, fmt.Errorf("postgres: list prepared: %w", err)
	}
	gids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("postgres: list prepared: %w", err)
	}
	out := make([]participant.PreparedTx, 0, len(gids))
	for _, gid := range gids {
		txID, deadline, ok := s.parseGID(gid)
		if !ok {
			s.log.Warn("ignoring a prepared transaction with a malformed gid", zap.String("gid", gid))
			continue
		}
		out = append(out, participant.PreparedTx{TxID: txID, Deadline: deadline})
	}
	return out, nil
}

// GC deletes this participant's marker rows and abort tombstones whose
// outcome is older than olderThan, gcBatch rows per statement, and returns
// how many rows it deleted.
// A marker is what tells a retried Commit "already committed" from a
// heuristic rollback, and a tombstone is what refuses a late Prepare, so
// age counts from the outcome, not from the prepare: a tombstone is stamped
// when written; a marker (written inside the prepared transaction, visible
// only once it commits) is stamped by the first GC that sees it, which is
// never before its commit. A transaction in doubt for any time keeps its
// marker for olderThan after it commits; prepared markers are invisible and
// never touched. olderThan must exceed how long after an outcome a retried
// Commit or Abort can still arrive: the longest a coordinator leader may
// keep retrying phase 2 to this participant (a partition between them),
// plus one GC interval. The agent runs it (PruneOutcomes) with at least
// the coordinators' uniqueness window; RunGC runs it on a timer of its own.
func (s *Store) GC(ctx context.Context, olderThan time.Duration) (int64, error) {
	if olderThan <= 0 {
		return 0, fmt.Errorf("postgres: GC retention must be positive, got %v", olderThan)
	}
	if _, err := s.pool.Exec(ctx, s.sql.stampDecided, s.id); err != nil {
		return 0, fmt.Errorf("postgres: GC: stamp outcome times: %w", err)
	}
	var total int64
	for {
		tag, err := s.pool.Exec(ctx, s.sql.gc, s.id, olderThan.Seconds(), gcBatch)
		if err != nil {
			return total, fmt.Errorf("postgres: GC: %w", err)
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < gcBatch {
			return total, nil
		}
	}
}

// gcBatch bounds the rows one GC statement deletes.
const gcBatch = 1000

var _ participant.OutcomePruner = (*Store)(nil)

// PruneOutcomes is GC for the agent (participant.OutcomePruner), which
// runs it every Config.OutcomePruneInterval with the coordinators'
// uniqueness window as the floor of olderThan.
func (s *Store) PruneOutcomes(ctx context.Context, olderThan time.Duration) (int, error) {
	n, err := s.GC(ctx, olderThan)
	return int(n), err
}

// RunGC runs GC(retention) every interval until ctx is done, logging what
// it deleted and any error (the next tick retries). It returns at once if
// interval or retention is not positive.
func (s *Store) RunGC(ctx context.Context, retention, interval time.Duration) {
	if retention <= 0 || interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.gcOnce(ctx, retention)
		}
	}
}

func (s *Store) gcOnce(ctx context.Context, retention time.Duration) {
	n, err := s.GC(ctx, retention)
	switch {
	case err != nil && ctx.Err() == nil:
		s.log.Warn("outcome GC failed, retrying next tick", zap.Error(err))
	case n > 0:
		s.log.Info("outcome GC deleted old markers and tombstones", zap.Int64("rows", n), zap.Duration("retention", retention))
	}
}
