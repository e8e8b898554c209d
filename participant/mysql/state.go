package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/arbiter-tx/arbiter/participant"
)

// State reports txID's durable state: Prepared if its branch is in XA
// RECOVER, else Committed if its marker row is visible, else Aborted if it
// has a tombstone, else None. The branch is looked up first and the row
// after, so an XA COMMIT running meanwhile shows as Prepared or Committed,
// never as None.
func (s *Store) State(ctx context.Context, txID string) (participant.State, error) {
	if validTxID(txID) == nil {
		switch prepared, err := s.isPrepared(ctx, txID); {
		case err != nil:
			return participant.StateNone, err
		case prepared:
			return participant.StatePrepared, nil
		}
	}
	return s.decided(ctx, txID)
}

// decided reads the marker and the tombstone of a transaction that is not
// prepared: Committed, Aborted or None.
func (s *Store) decided(ctx context.Context, txID string) (participant.State, error) {
	var outcome string
	err := s.db.QueryRowContext(ctx, qOutcome, s.id, txID).Scan(&outcome)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return participant.StateNone, nil
	case err != nil:
		return participant.StateNone, fmt.Errorf("mysql: state of %s: %w", txID, err)
	case outcome == outcomeCommitted:
		return participant.StateCommitted, nil
	}
	return participant.StateAborted, nil
}

// isPrepared reports whether txID's branch is prepared on the server.
func (s *Store) isPrepared(ctx context.Context, txID string) (bool, error) {
	ids, err := s.recover(ctx)
	if err != nil {
		return false, fmt.Errorf("mysql: look up prepared %s: %w", txID, err)
	}
	for _, id := range ids {
		if id == txID {
			return true, nil
		}
	}
	return false, nil
}

// recover returns the transaction IDs of this participant's prepared
// branches (XA RECOVER, server-wide). Branches of other XIDs are left
// alone; each is logged once while it stays listed (see noteOthers).
func (s *Store) recover(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, "XA RECOVER")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	others := map[string]bool{} // XID -> Arbiter's (another participant's)
	for rows.Next() {
		var format int64
		var gl, bl int
		var data []byte
		if err := rows.Scan(&format, &gl, &bl, &data); err != nil {
			return nil, err
		}
		x, ok := parseRecovered(format, gl, bl, data)
		if txID, mine := s.ours(x); ok && mine {
			ids = append(ids, txID)
		} else if ok {
			others[x.String()] = x.format == xidFormat
		} else {
			others[fmt.Sprintf("%d:%x", format, data)] = false
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	s.noteOthers(others)
	return ids, nil
}

// noteOthers logs the XIDs of a listing that are not this participant's
// and were not in the previous listing: foreign ones (not Arbiter's) at
// info level, other Arbiter participants' at debug. Only the latest
// listing is remembered, so the set stays as small as XA RECOVER.
func (s *Store) noteOthers(others map[string]bool) {
	s.mu.Lock()
	prev := s.others
	s.others = others
	s.mu.Unlock()
	for key, arbiters := range others {
		if _, seen := prev[key]; seen {
			continue
		}
		if arbiters {
			s.log.Debug("leaving alone another participant's prepared XA branch", zap.String("xid", key))
		} else {
			s.log.Info("leaving alone a prepared XA branch that is not Arbiter's", zap.String("xid", key))
		}
	}
}

// Prepared lists this participant's prepared branches (XA RECOVER). An XID
// has no room for the coordinator's deadline (gtrid and bqual are the two
// IDs, the format ID is 32 bits), so it comes from memory for the branches
// this process prepared; a branch found after a restart gets
// unknownDeadline (the Unix epoch: long past, and shown as 0 by Inspect),
// so the agent asks the coordinators about it at every recovery pass until
// it is decided (asking early is safe: a transaction still running
// answers "pending").
func (s *Store) Prepared(ctx context.Context) ([]participant.PreparedTx, error) {
	ids, err := s.recover(ctx)
	if err != nil {
		return nil, fmt.Errorf("mysql: XA RECOVER: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]participant.PreparedTx, 0, len(ids))
	for _, id := range ids {
		dl := unknownDeadline
		if b, ok := s.branch[id]; ok {
			dl = b.deadline
		}
		out = append(out, participant.PreparedTx{TxID: id, Deadline: dl})
	}
	return out, nil
}

// unknownDeadline is the deadline of a branch this process did not
// prepare.
var unknownDeadline = time.Unix(0, 0)

// gcBatch bounds the rows one GC pass reads at a time.
const gcBatch = 1000

// GC deletes this participant's marker rows and abort tombstones whose
// outcome is older than olderThan and returns how many it deleted. Age
// counts from the outcome, not the prepare: a tombstone is stamped when
// written; a marker (written inside the XA branch, visible only once it
// commits) is stamped by the first GC that sees it, which is never before
// its commit. Prepared markers are invisible to GC's reads and never
// touched (nor waited on). The agent runs it (PruneOutcomes) with at least
// the coordinators' uniqueness window.
func (s *Store) GC(ctx context.Context, olderThan time.Duration) (int64, error) {
	if olderThan <= 0 {
		return 0, fmt.Errorf("mysql: GC retention must be positive, got %v", olderThan)
	}
	if err := s.eachBatch(ctx, qUnstamped, qStamp, nil, nil); err != nil {
		return 0, fmt.Errorf("mysql: GC: stamp outcome times: %w", err)
	}
	var total int64
	err := s.eachBatch(ctx, qExpired, qDelete, []any{olderThan.Microseconds()}, &total)
	if err != nil {
		return total, fmt.Errorf("mysql: GC: %w", err)
	}
	return total, nil
}

// eachBatch reads up to gcBatch tx IDs with pick (a consistent read,
// args after the participant ID) and runs write on all of them in one
// statement (one durable write per batch), until a read returns fewer
// than gcBatch; n counts the rows written.
func (s *Store) eachBatch(ctx context.Context, pick, write string, args []any, n *int64) error {
	for {
		ids, err := s.pick(ctx, pick, append(append([]any{s.id}, args...), gcBatch)...)
		if err != nil {
			return err
		}
		if len(ids) > 0 {
			res, err := s.db.ExecContext(ctx, write+inList(len(ids)), append([]any{s.id}, ids...)...)
			if err != nil {
				return err
			}
			if k, _ := res.RowsAffected(); n != nil {
				*n += k
			}
		}
		if len(ids) < gcBatch {
			return nil
		}
	}
}

// inList is "(?, ?, ...)" with n placeholders.
func inList(n int) string {
	return "(" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")"
}

func (s *Store) pick(ctx context.Context, q string, args ...any) ([]any, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []any
	for rows.Next() {
		var id []byte
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// PruneOutcomes is GC for the agent (participant.OutcomePruner), which
// runs it every Config.OutcomePruneInterval with the coordinators'
// uniqueness window as the floor of olderThan.
func (s *Store) PruneOutcomes(ctx context.Context, olderThan time.Duration) (int, error) {
	n, err := s.GC(ctx, olderThan)
	return int(n), err
}
