package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arbiter-tx/arbiter/participant"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"
)

// Defaults for Options.
const (
	DefaultSchema      = "arbiter"
	DefaultLockTimeout = 5 * time.Second
)

// Options configures a Store. The zero value is usable.
type Options struct {
	// Schema holds the adapter's tables (created by Open if missing).
	// Default DefaultSchema.
	Schema string
	// LockTimeout is set as lock_timeout (SET LOCAL) in every local
	// transaction: a lock wait, for instance on a row held by a prepared
	// transaction, fails after it with SQLSTATE 55P03 instead of waiting
	// for the decision forever. 0 means DefaultLockTimeout; negative means
	// no limit (not recommended: prepared locks are held until phase 2).
	LockTimeout time.Duration
	// StatementTimeout is set as statement_timeout (SET LOCAL) in every
	// local transaction. 0 leaves the server's setting.
	StatementTimeout time.Duration
	// TxOptions are the local transactions' options (isolation level...).
	// The zero value is the server default (READ COMMITTED).
	TxOptions pgx.TxOptions
	// Logger receives heuristic outcomes and warnings. Nil logs nothing.
	Logger *zap.Logger
}

func (o *Options) setDefaults() {
	if o.Schema == "" {
		o.Schema = DefaultSchema
	}
	if o.LockTimeout == 0 {
		o.LockTimeout = DefaultLockTimeout
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
}

// Store is a participant.Resource[pgx.Tx] over a PostgreSQL database. It is
// safe for concurrent use. Several participants (distinct IDs) may share
// one database and schema; one participant ID must be served by one Store.
type Store struct {
	pool *pgxpool.Pool
	id   string
	opts Options
	log  *zap.Logger
	sql  queries

	heuristics atomic.Uint64

	mu     sync.Mutex
	active map[string]*Tx // unprepared local transactions by tx ID
}

var _ participant.Resource[pgx.Tx] = (*Store)(nil)

// Open checks the server (max_prepared_transactions > 0, synchronous_commit
// not off), creates the schema and tables if missing, and returns the Store
// of participantID. The caller owns pool and closes it after the agent.
func Open(ctx context.Context, pool *pgxpool.Pool, participantID string, opts Options) (*Store, error) {
	if err := validParticipantID(participantID); err != nil {
		return nil, err
	}
	opts.setDefaults()
	s := &Store{
		pool: pool, id: participantID, opts: opts, sql: newQueries(opts.Schema),
		log:    opts.Logger.With(zap.String("participant-id", participantID)),
		active: make(map[string]*Tx),
	}
	if err := s.checkServer(ctx); err != nil {
		return nil, err
	}
	if err := s.createSchema(ctx); err != nil {
		return nil, fmt.Errorf("postgres: create schema %q: %w", opts.Schema, err)
	}
	return s, nil
}

// checkServer refuses a server that cannot prepare transactions, or that
// would lose acknowledged tombstones and terms in a crash.
func (s *Store) checkServer(ctx context.Context) error {
	var maxPrepared, syncCommit string
	err := s.pool.QueryRow(ctx, `SELECT current_setting('max_prepared_transactions'),
		current_setting('synchronous_commit')`).Scan(&maxPrepared, &syncCommit)
	if err != nil {
		return fmt.Errorf("postgres: read server settings: %w", err)
	}
	if maxPrepared == "0" {
		return ErrNoPreparedTransactions
	}
	if syncCommit == "off" {
		return errors.New("postgres: synchronous_commit is off: abort tombstones and terms could be lost in a crash; set it to on (or local/remote_write/remote_apply)")
	}
	return nil
}

// createSchema creates the tables under an advisory lock, so that
// participants starting together do not race on CREATE IF NOT EXISTS.
func (s *Store) createSchema(ctx context.Context) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('arbiter-participant-schema'))`); err != nil {
			return err
		}
		for _, stmt := range s.sql.schema {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return err
			}
		}
		return nil
	})
}

// ID returns the participant ID.
func (s *Store) ID() string { return s.id }

// Term returns the highest fencing term recorded (0 if none).
func (s *Store) Term(ctx context.Context) (uint64, error) {
	var term int64
	err := s.pool.QueryRow(ctx, s.sql.term, s.id).Scan(&term)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("postgres: read term: %w", err)
	}
	return uint64(term), nil
}

// SetTerm durably records term if it is higher than the recorded one.
func (s *Store) SetTerm(ctx context.Context, term uint64) error {
	if term > math.MaxInt64 {
		return fmt.Errorf("postgres: term %d does not fit a bigint", term)
	}
	if _, err := s.pool.Exec(ctx, s.sql.setTerm, s.id, int64(term)); err != nil {
		return fmt.Errorf("postgres: record term %d: %w", term, err)
	}
	return nil
}
