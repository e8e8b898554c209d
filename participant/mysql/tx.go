package mysql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	"github.com/arbiter-tx/arbiter/participant"
	"github.com/arbiter-tx/arbiter/participant/internal/txstate"
)

// Tx is the local transaction of one global transaction: an XA branch
// (XA START ... on a connection of its own) as handed to the handler. The
// handler runs its SQL through ExecContext, QueryContext and
// QueryRowContext; it must not run COMMIT, ROLLBACK or XA statements (the
// branch ends through two-phase commit) nor keep the handle. After
// Prepare, a one-phase commit or Rollback every method fails: the
// connection is closed.
type Tx struct {
	id     string
	conn   *sql.Conn
	connID int64 // the session's CONNECTION_ID()
	writes int64 // the session's row writes before XA START (see ReadOnly)
	xid    xid
	// statementLimit: max_statement_time was set (MariaDB) and must be
	// lifted before the adapter's own statements.
	statementLimit bool

	latch txstate.Latch // finished once prepared, committed or rolled back
}

var (
	errPrepared  = errors.New("mysql: transaction is prepared; only Commit or Abort apply now")
	errCommitted = errors.New("mysql: transaction was committed (one phase)")
)

// ID returns the global transaction ID.
func (t *Tx) ID() string { return t.id }

// ExecContext runs a statement in the local transaction. A deadlock or a
// lock wait that ran out of time returns ErrDeadlock or ErrLockWait.
func (t *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := t.latch.Err(); err != nil {
		return nil, err
	}
	res, err := t.conn.ExecContext(ctx, query, args...)
	return res, classify(err)
}

// QueryContext runs a query in the local transaction (errors as ExecContext).
func (t *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if err := t.latch.Err(); err != nil {
		return nil, err
	}
	rows, err := t.conn.QueryContext(ctx, query, args...)
	return rows, classify(err)
}

// QueryRowContext runs a query expected to return at most one row. Its
// errors are the driver's (Scan returns them; use Classify to tell a
// deadlock or lock timeout); after the transaction ended, sql.ErrConnDone.
func (t *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return t.conn.QueryRowContext(ctx, query, args...)
}

// Classify returns ErrDeadlock or ErrLockWait (wrapping err) for the
// server's deadlock and lock-timeout errors, and err otherwise: for errors
// from QueryRowContext's Scan.
func Classify(err error) error { return classify(err) }

// Begin starts txID's XA branch (XA START with the XID gtrid=txID,
// bqual=participant ID) on a connection of its own, with
// innodb_lock_wait_timeout bounded as Options.LockTimeout says. It fails
// with participant.ErrTxExists if txID has local work here, and with
// ErrAlreadyAborted / ErrAlreadyCommitted if txID was decided here.
func (s *Store) Begin(ctx context.Context, txID string) (*Tx, error) {
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
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("mysql: get a connection: %w", err)
	}
	t := &Tx{id: txID, conn: conn, xid: s.xidOf(txID)}
	if err := s.startBranch(ctx, t); err != nil {
		closeConn(t.conn)
		return nil, fmt.Errorf("mysql: begin %s: %w", txID, err)
	}
	return t, nil
}

// startBranch sets the session's time limits and runs XA START.
func (s *Store) startBranch(ctx context.Context, t *Tx) error {
	err := t.conn.QueryRowContext(ctx, `SELECT CONNECTION_ID()`).Scan(&t.connID)
	if err != nil {
		return err
	}
	wait, stmt := s.limits(ctx)
	q := fmt.Sprintf("SET SESSION innodb_lock_wait_timeout = %d", wait)
	if stmt > 0 && s.mariadb {
		q += fmt.Sprintf(", SESSION max_statement_time = %.3f", stmt.Seconds())
		t.statementLimit = true
	}
	if _, err = t.conn.ExecContext(ctx, q); err != nil {
		return err
	}
	if t.writes, err = rowWrites(ctx, t.conn); err != nil {
		return err
	}
	_, err = t.conn.ExecContext(ctx, "XA START "+t.xid.sql())
	return err
}

// rowWrites is the session's count of row inserts, updates and deletes
// (Handler_write + Handler_update + Handler_delete). It counts writes to
// internal temporary tables too, so it may call a reading branch a
// writer, never the reverse. (InnoDB's trx_rows_modified would be exact,
// but information_schema.innodb_trx is a cache refreshed every 0.1 s.)
func rowWrites(ctx context.Context, c *sql.Conn) (int64, error) {
	rows, err := c.QueryContext(ctx, `SHOW SESSION STATUS WHERE Variable_name IN ('Handler_write', 'Handler_update', 'Handler_delete')`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var total int64
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			return 0, err
		}
		total += n
	}
	return total, rows.Err()
}

// limits returns innodb_lock_wait_timeout in whole seconds (at least 1)
// and a statement time limit (0: none). Both follow Options.LockTimeout,
// cut to three quarters of the time left before ctx's deadline (the
// coordinator's Prepare deadline): a lock wait then ends with error 1205
// or 1969, a clean no vote whose abort tombstone can still be written,
// rather than with the caller's deadline, which breaks the connection and
// leaves no vote and no tombstone, so the coordinator's retried Prepare
// ran the handler again and waited again until the transaction's deadline.
// The statement limit (MariaDB's max_statement_time, which takes
// fractions of a second) is set when the limit is not whole seconds.
func (s *Store) limits(ctx context.Context) (int64, time.Duration) {
	lock := s.opts.LockTimeout
	if dl, ok := ctx.Deadline(); ok {
		lock = min(lock, max(time.Until(dl)*3/4, time.Millisecond))
	}
	var stmt time.Duration
	if lock%time.Second != 0 {
		stmt = lock
	}
	return max(int64(lock/time.Second), 1), stmt
}

// liftStatementLimit clears max_statement_time before the adapter's own
// statements (the marker, XA END, XA PREPARE/COMMIT), which must not be
// interrupted halfway.
func liftStatementLimit(ctx context.Context, t *Tx) error {
	if !t.statementLimit {
		return nil
	}
	_, err := t.conn.ExecContext(ctx, "SET SESSION max_statement_time = 0")
	return err
}

// ReadOnly reports whether tx's branch wrote no row since XA START (the
// session's handler write counters did not move). On any doubt it answers
// false.
func (s *Store) ReadOnly(tx *Tx) bool {
	if tx == nil || tx.latch.Err() != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n, err := rowWrites(ctx, tx.conn)
	return err == nil && n == tx.writes
}

// Rollback discards an unprepared branch (XA END, XA ROLLBACK), which
// releases its row locks, and closes its connection. Nothing durable is
// written. Rolling back a prepared transaction is refused: use Abort.
func (s *Store) Rollback(ctx context.Context, txID string, tx *Tx) error {
	if tx == nil || tx.id != txID {
		return fmt.Errorf("mysql: rollback %s: handle belongs to another transaction", txID)
	}
	if err := tx.latch.Finish(fmt.Errorf("mysql: transaction %s rolled back", txID)); err != nil {
		if errors.Is(err, errPrepared) {
			return fmt.Errorf("mysql: rollback of prepared %s: use Abort", txID)
		}
		return nil // already rolled back
	}
	defer s.forget(txID, tx)
	// Errors are ignored: the branch may be idle, failed or already
	// rolled back (a deadlock victim), and closing the session rolls back
	// whatever unprepared branch is left on it.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_, _ = tx.conn.ExecContext(ctx, "XA END "+tx.xid.sql())
	_, _ = tx.conn.ExecContext(ctx, "XA ROLLBACK "+tx.xid.sql())
	closeConn(tx.conn)
	return nil
}

// closeConn closes a branch's connection instead of returning it to the
// pool: the session ends, which detaches a prepared branch (another
// session may then commit it) and rolls back an unprepared one, and no
// session setting leaks into the pool.
func closeConn(c *sql.Conn) {
	_ = c.Raw(func(any) error { return driver.ErrBadConn })
	_ = c.Close()
}

// forget drops txID from the active set if t is still its entry.
func (s *Store) forget(txID string, t *Tx) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.active[txID]; ok && cur == t {
		delete(s.active, txID)
	}
}
