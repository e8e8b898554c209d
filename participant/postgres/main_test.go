package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/participant"
	"github.com/arbiter-tx/arbiter/participant/postgres"
	"github.com/arbiter-tx/arbiter/participant/postgres/pgtest"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"
)

var bg = context.Background()

// shared is one server for the tests that do not stop it; each test gets
// its own schema and participant ID.
var shared struct {
	once sync.Once
	srv  *pgtest.Server
	err  error
}

var seq atomic.Int64

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.srv != nil {
		_ = shared.srv.Close()
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func sharedServer(t *testing.T) *pgtest.Server {
	t.Helper()
	shared.once.Do(func() { shared.srv, shared.err = pgtest.New() })
	if shared.err != nil {
		pgtest.Unavailable(t, shared.err)
	}
	return shared.srv
}

func newPool(t *testing.T, dsn string) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(dsn)
	must(t, err)
	cfg.MaxConns = 32
	pool, err := pgxpool.NewWithConfig(bg, cfg)
	must(t, err)
	t.Cleanup(pool.Close)
	return pool
}

// env is one participant's store over its own schema, with an accounts
// table (id text, n bigint) in that schema.
type env struct {
	pool   *pgxpool.Pool
	store  *postgres.Store
	id     string
	schema string
}

func newEnv(t *testing.T, dsn string) *env {
	t.Helper()
	n := seq.Add(1)
	e := &env{pool: newPool(t, dsn), id: fmt.Sprintf("p%d", n), schema: fmt.Sprintf("s%d", n)}
	e.store = e.open(t, postgres.Options{})
	_, err := e.pool.Exec(bg, fmt.Sprintf("CREATE TABLE %s.accounts (id text PRIMARY KEY, n bigint NOT NULL)", e.schema))
	must(t, err)
	return e
}

// open opens (again) the store of e's participant over e.pool.
func (e *env) open(t *testing.T, opts postgres.Options) *postgres.Store {
	t.Helper()
	opts.Schema = e.schema
	opts.Logger = zaptest.NewLogger(t)
	s, err := postgres.Open(bg, e.pool, e.id, opts)
	must(t, err)
	return s
}

func (e *env) accounts() string { return pgx.Identifier{e.schema, "accounts"}.Sanitize() }

// put upserts id=n inside tx.
func (e *env) put(t *testing.T, tx pgx.Tx, id string, n int64) {
	t.Helper()
	_, err := tx.Exec(bg, "INSERT INTO "+e.accounts()+" VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET n = EXCLUDED.n", id, n)
	must(t, err)
}

// prepared begins txID, upserts id=n and prepares it.
func (e *env) prepared(t *testing.T, txID, id string, n int64) {
	t.Helper()
	tx, err := e.store.Begin(bg, txID)
	must(t, err)
	e.put(t, tx, id, n)
	must(t, e.store.Prepare(bg, txID, tx, time.Now().Add(time.Minute)))
}

// value reads id's committed value; -1 if absent.
func (e *env) value(t *testing.T, id string) int64 {
	t.Helper()
	var n int64
	err := e.pool.QueryRow(bg, "SELECT n FROM "+e.accounts()+" WHERE id = $1", id).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return -1
	}
	must(t, err)
	return n
}

func (e *env) wantState(t *testing.T, txID string, want participant.State) {
	t.Helper()
	st, err := e.store.State(bg, txID)
	must(t, err)
	if st != want {
		t.Fatalf("State(%s) = %v, want %v", txID, st, want)
	}
}

// gid returns txID's gid from pg_prepared_xacts.
func (e *env) gid(t *testing.T, txID string) string {
	t.Helper()
	var gid string
	must(t, e.pool.QueryRow(bg, `SELECT gid FROM pg_prepared_xacts WHERE starts_with(gid, $1)`,
		"arbiter:"+e.id+":"+txID+":").Scan(&gid))
	return gid
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want %v", err, want)
	}
}

// eventually polls cond until it holds or a deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}
