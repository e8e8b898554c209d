package mysqltest_test

import (
	"database/sql"
	"testing"

	"go.uber.org/goleak"

	"github.com/arbiter-tx/arbiter/participant/mysql/mysqltest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// A server listening on a second address (as the fault suite's banks in
// network namespaces dial it) admits root from there, runs with the
// binlog and the durable settings, and keeps committed data and a
// prepared XA branch across a SIGKILL and a restart.
func TestServerOnTwoAddressesSurvivesCrash(t *testing.T) {
	s, err := mysqltest.NewOn("127.0.0.1,127.0.0.2")
	if err != nil {
		mysqltest.Unavailable(t, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	db := open(t, s.DSNHost("127.0.0.2", ""))
	var logBin, flush, syncBinlog string
	if err := db.QueryRow("SELECT @@log_bin, @@innodb_flush_log_at_trx_commit, @@sync_binlog").Scan(&logBin, &flush, &syncBinlog); err != nil {
		t.Fatal(err)
	}
	if logBin != "1" || flush != "1" || syncBinlog != "1" {
		t.Fatalf("log_bin %s, innodb_flush_log_at_trx_commit %s, sync_binlog %s; want 1, 1, 1", logBin, flush, syncBinlog)
	}
	exec(t, db, "CREATE DATABASE d", "CREATE TABLE d.t (id INT PRIMARY KEY)", "INSERT INTO d.t VALUES (1)")
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"XA START 'x'", "INSERT INTO d.t VALUES (2)", "XA END 'x'", "XA PREPARE 'x'"} {
		if _, err := conn.ExecContext(t.Context(), q); err != nil {
			t.Fatal(q, err)
		}
	}
	_ = conn.Close()
	_ = db.Close()
	if err := s.Crash(); err != nil {
		t.Fatal(err)
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	db = open(t, s.DSN(""))
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM d.t").Scan(&n); err != nil || n != 1 {
		t.Fatalf("rows after the crash = %d, %v; want the committed one", n, err)
	}
	exec(t, db, "XA COMMIT 'x'")
	if err := db.QueryRow("SELECT COUNT(*) FROM d.t").Scan(&n); err != nil || n != 2 {
		t.Fatalf("rows after committing the recovered branch = %d, %v; want 2", n, err)
	}
}

func open(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func exec(t *testing.T, db *sql.DB, stmts ...string) {
	t.Helper()
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}
