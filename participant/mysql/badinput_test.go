package mysql_test

import (
	"testing"

	"github.com/arbiter-tx/arbiter/participant/mysql"
	"github.com/arbiter-tx/arbiter/participant/mysql/mysqltest"
)

// tableCount counts the tables of e's database.
func tableCount(t *testing.T, e *env) int {
	t.Helper()
	var n int
	must(t, e.db.QueryRow("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE()").Scan(&n))
	return n
}

// Open refuses what it cannot work with, says what to fix, and writes
// nothing: no table created, no row.
func TestOpenRefusesBadSetupAndWritesNothing(t *testing.T) {
	srv := sharedServer(t)
	t.Run("tables missing", func(t *testing.T) {
		e := newBareEnv(t, srv)
		_, err := mysql.Open(bg, e.db, e.id, mysql.Options{})
		wantErr(t, err, mysql.ErrNoTables)
		if n := tableCount(t, e); n != 0 {
			t.Fatalf("%d tables after a refused Open, want 0", n)
		}
	})
	t.Run("not InnoDB", func(t *testing.T) {
		e := newBareEnv(t, srv)
		must(t, mysql.Migrate(bg, e.db))
		_, err := e.db.Exec("ALTER TABLE arbiter_outcomes ENGINE = MyISAM")
		must(t, err)
		_, err = mysql.Open(bg, e.db, e.id, mysql.Options{})
		wantErr(t, err, mysql.ErrNoTables)
		wantNoRows(t, e)
	})
	t.Run("sync_binlog off with the binlog on", func(t *testing.T) {
		e := newBareEnv(t, srv)
		must(t, mysql.Migrate(bg, e.db))
		_, err := e.db.Exec("SET GLOBAL sync_binlog = 0")
		must(t, err)
		defer func() { _, _ = e.db.Exec("SET GLOBAL sync_binlog = 1") }()
		_, err = mysql.Open(bg, e.db, e.id, mysql.Options{})
		wantErr(t, err, mysql.ErrUnsafeServer)
		wantNoRows(t, e)
	})
	t.Run("malformed DSN", func(t *testing.T) {
		for _, dsn := range []string{"root@tcp(127.0.0.1:3306", "root@tcp(127.0.0.1:3306)/", "postgres://x@y/z"} {
			if _, err := mysql.ParseDSN(dsn); err == nil {
				t.Fatalf("ParseDSN(%q) accepted", dsn)
			} else {
				wantErr(t, err, mysql.ErrBadDSN)
			}
		}
		if _, err := mysql.ParseDSN(srv.DSN("d1")); err != nil {
			t.Fatalf("ParseDSN of a good DSN: %v", err)
		}
	})
}

// A server without the binlog is refused when Options.RequireBinlog says
// the binlog is required, and a server that does not flush InnoDB's log
// at every commit always.
func TestOpenRefusesUnsafeServer(t *testing.T) {
	srv := mysqltest.Start(t, "--skip-log-bin")
	e := newBareEnv(t, srv)
	must(t, mysql.Migrate(bg, e.db))
	_, err := mysql.Open(bg, e.db, e.id, mysql.Options{RequireBinlog: true})
	wantErr(t, err, mysql.ErrUnsafeServer)
	wantNoRows(t, e)
	s, err := mysql.Open(bg, e.db, e.id, mysql.Options{}) // XA works without the binlog
	must(t, err)
	if s.ID() != e.id {
		t.Fatal("wrong store")
	}
	_, err = e.db.Exec("SET GLOBAL innodb_flush_log_at_trx_commit = 2")
	must(t, err)
	_, err = mysql.Open(bg, e.db, e.id, mysql.Options{})
	wantErr(t, err, mysql.ErrUnsafeServer)
	wantNoRows(t, e)
}

func wantNoRows(t *testing.T, e *env) {
	t.Helper()
	var n int
	must(t, e.db.QueryRow("SELECT (SELECT COUNT(*) FROM arbiter_outcomes) + (SELECT COUNT(*) FROM arbiter_meta)").Scan(&n))
	if n != 0 {
		t.Fatalf("%d rows written by a refused Open", n)
	}
}
