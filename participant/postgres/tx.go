package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/arbiter-tx/arbiter/participant"
	"github.com/arbiter-tx/arbiter/participant/internal/txstate"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Tx is the local transaction of one global transaction, as handed to the
// handler (as a pgx.Tx). It runs on a connection of its own until Prepare
// or Rollback returns the connection to the pool. Commit and Rollback are
// refused: the local transaction ends only through two-phase commit. After
// Prepare every method fails: the connection now serves others.
type Tx struct {
	pgx.Tx // the real transaction, on conn
	id     string
	conn   *pgxpool.Conn

	latch txstate.Latch // finished once prepared, committed or rolled back
}

var (
	// ErrLocalCommit: a handler called Commit or Rollback on the pgx.Tx.
	ErrLocalCommit = errors.New("postgres: the local transaction ends through two-phase commit: do not call Commit or Rollback on it; return an error to vote no")
	errPrepared    = errors.New("postgres: transaction is prepared; only Commit or Abort apply now")
	errCommitted   = errors.New("postgres: transaction was committed (one phase)")
)

// ID returns the global transaction ID.
func (t *Tx) ID() string { return t.id }

// Commit is refused: see ErrLocalCommit.
func (t *Tx) Commit(context.Context) error { return ErrLocalCommit }

// Rollback is refused: see ErrLocalCommit.
func (t *Tx) Rollback(context.Context) error { return ErrLocalCommit }

// Exec runs sql in the local transaction.
func (t *Tx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if err := t.latch.Err(); err != nil {
		return pgconn.CommandTag{}, err
	}
	return t.Tx.Exec(ctx, sql, args...)
}

// Query runs sql in the local transaction.
func (t *Tx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if err := t.latch.Err(); err != nil {
		return nil, err
	}
	return t.Tx.Query(ctx, sql, args...)
}

// QueryRow runs sql in the local transaction.
func (t *Tx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if err := t.latch.Err(); err != nil {
		return errRow{err}
	}
	return t.Tx.QueryRow(ctx, sql, args...)
}

// Begin starts a savepoint (a pseudo nested transaction).
func (t *Tx) Begin(ctx context.Context) (pgx.Tx, error) {
	if err := t.latch.Err(); err != nil {
		return nil, err
	}
	return t.Tx.Begin(ctx)
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// Begin starts txID's local transaction on a connection of its own, with
// lock_timeout and statement_timeout set locally. It fails with
// participant.ErrTxExists if txID has local work here, and with
// ErrAlreadyAborted / ErrAlreadyCommitted if txID was decided here.
func (s *Store) Begin(ctx context.Context, txID string) (pgx.Tx, error) {
	if err := validTxID(txID); err != nil {
		return nil, err
	}
	if err := s.reserve(txID); err != nil {
		return nil, err
	}
	t, err := s.begin(ctx, txID)
	if err != nil {
		s.forget(txID, nil)
		return nil, err
	}
	s.mu.Lock()
	s.active[txID] = t
	s.mu.Unlock()
	return t, nil
}

// reserve claims txID in the active set (with a nil placeholder).
func (s *Store) reserve(txID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.active[txID]; ok {
		return fmt.Errorf("%w: %s is active", participant.ErrTxExists, txID)
	}
	s.active[txID] = nil
	return nil
}

func (s *Store) begin(ctx context.Context, txID string) (*Tx, error) {
	st, err := s.State(ctx, txID)
	if err != nil {
		return nil, err
	}
	if err := txstate.NeedNone(st, txID); err != nil {
		return nil, err
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: acquire connection: %w", err)
	}
	tx, err := conn.BeginTx(ctx, s.opts.TxOptions)
	if err == nil {
		err = s.setTimeouts(ctx, tx)
	}
	if err != nil {
		if tx != nil {
			_ = tx.Rollback(ctx)
		}
		conn.Release()
		return nil, fmt.Errorf("postgres: begin %s: %w", txID, err)
	}
	return &Tx{Tx: tx, id: txID, conn: conn}, nil
}

func (s *Store) setTimeouts(ctx context.Context, tx pgx.Tx) error {
	lock := s.lockTimeout(ctx)
	stmt := max(s.opts.StatementTimeout.Milliseconds(), 0)
	_, err := tx.Exec(ctx, `SELECT set_config('lock_timeout', $1, true), set_config('statement_timeout', $2, true)`,
		fmt.Sprintf("%dms", lock), fmt.Sprintf("%dms", stmt))
	return err
}

// lockTimeout is Options.LockTimeout in milliseconds (0: no limit),
// shortened to three quarters of the time left before ctx's deadline (the
// coordinator's Prepare deadline). A lock wait then ends with SQLSTATE
// 55P03, a clean no vote whose abort tombstone can still be written, rather
// than with the caller's deadline, which breaks the connection and leaves
// no vote and no tombstone, so the coordinator's retried Prepare runs the
// handler again and waits again until the transaction's deadline.
func (s *Store) lockTimeout(ctx context.Context) int64 {
	lock := max(s.opts.LockTimeout, 0)
	if dl, ok := ctx.Deadline(); ok {
		if left := max(time.Until(dl)*3/4, time.Millisecond); lock == 0 || left < lock {
			lock = left
		}
	}
	if lock == 0 {
		return 0
	}
	return max(lock.Milliseconds(), 1)
}

// Rollback discards an unprepared local transaction, which releases its
// row locks, and returns its connection to the pool. Nothing durable is
// written. Rolling back a prepared transaction is refused: use Abort.
func (s *Store) Rollback(ctx context.Context, txID string, tx pgx.Tx) error {
	t, ok := tx.(*Tx)
	if !ok || t.id != txID {
		return fmt.Errorf("postgres: rollback %s: handle belongs to another transaction", txID)
	}
	if err := t.latch.Finish(fmt.Errorf("postgres: transaction %s rolled back", txID)); err != nil {
		if errors.Is(err, errPrepared) {
			return fmt.Errorf("postgres: rollback of prepared %s: use Abort", txID)
		}
		return nil // already rolled back
	}
	defer s.forget(txID, t)
	defer t.conn.Release() // destroyed by the pool if still in a transaction
	if err := t.Tx.Rollback(ctx); err != nil && !errors.Is(err, pgx.ErrTxClosed) && !t.conn.Conn().IsClosed() {
		return fmt.Errorf("postgres: rollback %s: %w", txID, err)
	}
	// A closed connection (pgx closes one whose query was cancelled) is a
	// rollback too: the server discards an unprepared transaction when its
	// session ends.
	return nil
}

// forget drops txID from the active set if t is still its entry.
func (s *Store) forget(txID string, t *Tx) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.active[txID]; ok && cur == t {
		delete(s.active, txID)
	}
}
