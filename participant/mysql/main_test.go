package mysql_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/arbiter-tx/arbiter/participant"
	"github.com/arbiter-tx/arbiter/participant/mysql"
	"github.com/arbiter-tx/arbiter/participant/mysql/mysqltest"
)

var bg = context.Background()

// shared is one server for the tests that do not stop it; each test gets
// its own database and participant ID.
var shared struct {
	once sync.Once
	srv  *mysqltest.Server
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

func sharedServer(t *testing.T) *mysqltest.Server {
	t.Helper()
	shared.once.Do(func() { shared.srv, shared.err = mysqltest.New() })
	if shared.err != nil {
		mysqltest.Unavailable(t, shared.err)
	}
	return shared.srv
}

func openDB(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	must(t, err)
	db.SetMaxOpenConns(64)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// env is one participant's store over its own database, migrated, with an
// accounts table (id varchar, n bigint).
type env struct {
	srv    *mysqltest.Server
	db     *sql.DB
	store  *mysql.Store
	id     string
	dbName string
	// lockTimeout is the Options.LockTimeout of startNode's store.
	lockTimeout time.Duration
}

func newEnv(t *testing.T, srv *mysqltest.Server) *env {
	t.Helper()
	e := newBareEnv(t, srv)
	must(t, mysql.Migrate(bg, e.db))
	_, err := e.db.Exec("CREATE TABLE accounts (id VARCHAR(64) PRIMARY KEY, n BIGINT NOT NULL) ENGINE=InnoDB")
	must(t, err)
	e.store = e.open(t, mysql.Options{})
	return e
}

// newBareEnv is a fresh, empty database of srv: nothing migrated.
func newBareEnv(t *testing.T, srv *mysqltest.Server) *env {
	t.Helper()
	n := seq.Add(1)
	e := &env{srv: srv, id: fmt.Sprintf("p%d", n), dbName: fmt.Sprintf("d%d", n)}
	root := openDB(t, srv.DSN(""))
	_, err := root.Exec("CREATE DATABASE " + e.dbName)
	must(t, err)
	e.db = openDB(t, srv.DSN(e.dbName))
	return e
}

// open opens (again) the store of e's participant over e.db.
func (e *env) open(t *testing.T, opts mysql.Options) *mysql.Store {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = zaptest.NewLogger(t)
	}
	s, err := mysql.Open(bg, e.db, e.id, opts)
	must(t, err)
	return s
}

// put upserts id=n inside tx.
func (e *env) put(t *testing.T, tx *mysql.Tx, id string, n int64) {
	t.Helper()
	_, err := tx.ExecContext(bg, "INSERT INTO accounts VALUES (?, ?) ON DUPLICATE KEY UPDATE n = VALUES(n)", id, n)
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
	err := e.db.QueryRow("SELECT n FROM accounts WHERE id = ?", id).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
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

// xaRecover lists every XID in XA RECOVER as "format:gtrid:bqual".
func xaRecover(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query("XA RECOVER")
	must(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var format int64
		var gl, bl int
		var data []byte
		must(t, rows.Scan(&format, &gl, &bl, &data))
		out = append(out, fmt.Sprintf("%d:%s:%s", format, data[:gl], data[gl:]))
	}
	must(t, rows.Err())
	return out
}

// branches lists the XA RECOVER entries of e's participant.
func (e *env) branches(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, x := range xaRecover(t, e.db) {
		if strings.HasSuffix(x, ":"+e.id) {
			out = append(out, x)
		}
	}
	return out
}

// xidSQL is our XID of txID at participant pid, as XA statements take it.
func xidSQL(txID, pid string) string {
	return fmt.Sprintf("X'%x',X'%x',%d", txID, pid, 0x41524231)
}

// ours is the XA RECOVER entry xaRecover prints for txID at pid.
func ours(txID, pid string) string { return fmt.Sprintf("%d:%s:%s", 0x41524231, txID, pid) }

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
	for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}
