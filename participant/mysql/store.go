package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	"go.uber.org/zap"

	"github.com/arbiter-tx/arbiter/participant"
)

// DefaultLockTimeout is Options.LockTimeout's default.
const DefaultLockTimeout = 5 * time.Second

// Options configures a Store. The zero value is usable.
type Options struct {
	// LockTimeout is set as the session's innodb_lock_wait_timeout (whole
	// seconds, at least 1) in every local transaction: a lock wait, for
	// instance on a row held by a prepared branch, fails after it with
	// error 1205 (a no vote) instead of waiting for the decision. It is cut
	// to 3/4 of the time left before the caller's deadline. When it is not
	// whole seconds, MariaDB also gets it as max_statement_time (which
	// takes fractions) for the handler's statements; MySQL rounds it down
	// to whole seconds, at least 1. 0 means DefaultLockTimeout.
	LockTimeout time.Duration
	// RequireBinlog refuses a server whose binary log is off (replicas and
	// point-in-time recovery then see prepared branches and their
	// outcomes). With the binlog on, sync_binlog must be 1 either way.
	RequireBinlog bool
	// Logger receives heuristic outcomes and warnings. Nil logs nothing.
	Logger *zap.Logger
}

func (o *Options) setDefaults() {
	if o.LockTimeout <= 0 {
		o.LockTimeout = DefaultLockTimeout
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
}

// Store is a participant.Resource[*Tx] over a MySQL or MariaDB database,
// with XA. It is safe for concurrent use. Several participants (distinct
// IDs) may share one database; one participant ID must be served by one
// Store.
type Store struct {
	db      *sql.DB
	id      string
	opts    Options
	log     *zap.Logger
	mariadb bool // max_statement_time exists
	// keepSession (tests only) leaves a prepared branch attached to its
	// session: see export_test.go.
	keepSession bool

	heuristics atomic.Uint64

	mu     sync.Mutex
	active map[string]*Tx    // unprepared local transactions by tx ID
	branch map[string]branch // branches this process prepared, until decided
	others map[string]bool   // XIDs of the latest XA RECOVER that are not ours (see noteOthers)
}

// branch is what the Store remembers of a branch it prepared: the
// coordinator's deadline (an XID has no room for it, see Prepared) and the
// session it was prepared on (killed if it still holds the branch when
// the decision comes).
type branch struct {
	deadline time.Time
	connID   int64
}

var (
	_ participant.Resource[*Tx]          = (*Store)(nil)
	_ participant.OnePhaseCommitter[*Tx] = (*Store)(nil)
	_ participant.ReadOnlyReporter[*Tx]  = (*Store)(nil)
	_ participant.OutcomePruner          = (*Store)(nil)
)

// ParseDSN parses a go-sql-driver/mysql DSN
// ("user:password@tcp(host:port)/database?param=value") and checks that it
// names a database, where the adapter's tables live.
func ParseDSN(dsn string) (*gomysql.Config, error) {
	cfg, err := gomysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("%w: %w (the form is user:password@tcp(host:port)/database)", ErrBadDSN, err)
	}
	if cfg.DBName == "" {
		return nil, fmt.Errorf("%w: it names no database: add /database after the address (user@tcp(host:port)/database)", ErrBadDSN)
	}
	return cfg, nil
}

// Open checks the server (XA-safe version and durability settings, the
// XA RECOVER privilege) and the adapter's tables (created beforehand by
// Migrate), and returns the Store of participantID. It writes nothing. The
// caller owns db and closes it after the agent. db should allow more open
// connections than concurrent local transactions: each holds one, and
// Commit needs another.
func Open(ctx context.Context, db *sql.DB, participantID string, opts Options) (*Store, error) {
	if err := validParticipantID(participantID); err != nil {
		return nil, err
	}
	opts.setDefaults()
	s := &Store{
		db: db, id: participantID, opts: opts,
		log:    opts.Logger.With(zap.String("participant-id", participantID)),
		active: map[string]*Tx{}, branch: map[string]branch{},
	}
	if err := s.checkServer(ctx); err != nil {
		return nil, err
	}
	if err := s.checkTables(ctx); err != nil {
		return nil, err
	}
	if _, err := s.recover(ctx); err != nil {
		return nil, fmt.Errorf("mysql: XA RECOVER (the account needs the privilege it takes: XA_RECOVER_ADMIN on MySQL 8): %w", err)
	}
	return s, nil
}

// checkTables refuses a database without the adapter's InnoDB tables.
func (s *Store) checkTables(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, qTables)
	if err != nil {
		return fmt.Errorf("mysql: list the adapter's tables: %w", err)
	}
	defer rows.Close()
	found := map[string]string{}
	for rows.Next() {
		var name, engine sql.NullString
		if err := rows.Scan(&name, &engine); err != nil {
			return err
		}
		found[name.String] = engine.String
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, t := range []string{"arbiter_outcomes", "arbiter_meta"} {
		switch engine, ok := found[t]; {
		case !ok:
			return fmt.Errorf("%w (table %s not found)", ErrNoTables, t)
		case engine != "InnoDB":
			return fmt.Errorf("%w (table %s uses engine %s, which XA cannot make atomic: recreate it with ENGINE=InnoDB)", ErrNoTables, t, engine)
		}
	}
	return nil
}

// ID returns the participant ID.
func (s *Store) ID() string { return s.id }

// Term returns the highest fencing term recorded (0 if none).
func (s *Store) Term(ctx context.Context) (uint64, error) {
	var term uint64
	err := s.db.QueryRowContext(ctx, qTerm, s.id).Scan(&term)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("mysql: read term: %w", err)
	}
	return term, nil
}

// SetTerm durably records term if it is higher than the recorded one.
func (s *Store) SetTerm(ctx context.Context, term uint64) error {
	if term > math.MaxInt64 {
		return fmt.Errorf("mysql: term %d does not fit a bigint", term)
	}
	if _, err := s.db.ExecContext(ctx, qSetTerm, s.id, term, term); err != nil {
		return fmt.Errorf("mysql: record term %d: %w", term, err)
	}
	return nil
}
