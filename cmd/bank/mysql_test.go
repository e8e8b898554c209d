package main

import (
	"database/sql"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/examples/bank/bankpb"
	"github.com/arbiter-tx/arbiter/internal/coordtest"
	"github.com/arbiter-tx/arbiter/internal/failpoint"
	"github.com/arbiter-tx/arbiter/participant/mysql/mysqltest"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// mysqlBankDSN starts a MariaDB server for t and returns the DSN of an
// empty database "bank" on it.
func mysqlBankDSN(t *testing.T) string {
	t.Helper()
	srv := mysqltest.Start(t)
	db := openMy(t, srv.DSN(""))
	if _, err := db.Exec("CREATE DATABASE bank"); err != nil {
		t.Fatal(err)
	}
	return srv.DSN("bank")
}

func openMy(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// myPrepared lists the tx IDs of participant pid's branches in XA RECOVER
// (gtrid = tx ID, bqual = participant ID).
func myPrepared(t *testing.T, dsn, pid string) []string {
	t.Helper()
	db := openMy(t, dsn)
	rows, err := db.Query("XA RECOVER")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var format int64
		var gl, bl int
		var data []byte
		if err := rows.Scan(&format, &gl, &bl, &data); err != nil {
			t.Fatal(err)
		}
		if string(data[gl:]) == pid {
			ids = append(ids, string(data[:gl]))
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

// The bank on MariaDB is SIGKILLed right after its XA PREPARE (failpoint
// prepare-after-durable in a service-driven Apply that enlisted with a
// real coordinator). While it is down the branch is still prepared and
// the client's Commit cannot get its vote: the coordinator decides ABORT.
// The restarted bank's recovery asks the coordinator (Resolve) and rolls
// the branch back: balances are the opening ones, nothing is prepared.
func TestMySQLBankKilledAfterPrepareRecoveryResolves(t *testing.T) {
	dir := t.TempDir()
	dsn := mysqlBankDSN(t)
	coord := coordtest.Start(t, zaptest.NewLogger(t, zaptest.Level(zapWarn)), nil)
	addr := freeAddr(t)
	args := []string{"--id", "bank1", "--listen", addr, "--coordinators", coord.Addr,
		"--insecure", "--accounts", "2", "--opening-balance", "100", "--mysql", dsn}
	p := startBank(t, dir, []string{failpoint.EnvVar + "=" + failpoint.PrepareAfterDurable.Arm(1)}, args...)
	p.waitLog(t, "registered with coordinators", 60*time.Second)
	bc, pc := bankClient(t, addr)
	ctx := ctxFor(t, 2*time.Minute)
	txID, err := coord.Client.Begin(ctx, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_, err = bc.Apply(client.WithTxID(ctx, txID), &bankpb.ApplyRequest{Ops: []*bankpb.Op{
		{Account: "bank1-0", Delta: -30}, {Account: "bank1-1", Delta: 30}}})
	if err == nil || !p.exited(10*time.Second) || !p.killedBySIGKILL() {
		t.Fatalf("Apply = %v; the bank was not killed by SIGKILL at the failpoint:\n%s", err, p.log())
	}
	if ids := myPrepared(t, dsn, "bank1"); !slices.Contains(ids, txID) {
		t.Fatalf("XA RECOVER while the bank is down: %v, want %s", ids, txID)
	}
	out, err := coord.Client.Commit(ctx, txID)
	if err == nil && out == arbiterpb.Outcome_OUTCOME_COMMIT {
		t.Fatal("the coordinator committed without the bank's vote")
	}
	if ids := myPrepared(t, dsn, "bank1"); !slices.Contains(ids, txID) {
		t.Fatalf("XA RECOVER before the restart: %v, want %s still prepared", ids, txID)
	}

	p = startBank(t, dir, nil, args...)
	p.waitLog(t, "registered with coordinators", 60*time.Second)
	eventually(t, 30*time.Second, "recovery to resolve the branch", func() bool {
		return len(myPrepared(t, dsn, "bank1")) == 0
	})
	b, err := bc.Balances(ctx, &bankpb.BalancesRequest{})
	if err != nil || b.GetBalances()["bank1-0"] != 100 || b.GetBalances()["bank1-1"] != 100 {
		t.Fatalf("balances after recovery = %v, %v; want the opening 100 and 100 (ABORT)", b, err)
	}
	if !strings.Contains(p.log(), "resolved in-doubt transaction") {
		t.Fatalf("the restarted bank did not log resolving the branch:\n%s", p.log())
	}
	info, err := pc.Inspect(ctx, &arbiterpb.InspectRequest{})
	if err != nil || len(info.GetPrepared()) != 0 {
		t.Fatalf("Inspect = %v, %v; want nothing prepared", info, err)
	}
}

// Bad input on the MySQL path: a malformed DSN, a DSN without a database,
// and (with --mysql-migrate=false) a database without the adapter's
// tables are refused at start with a message that says what to fix, and
// nothing is written.
func TestMySQLBankRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	dsn := mysqlBankDSN(t)
	base := []string{"--id", "bank1", "--listen", freeAddr(t), "--insecure"}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--mysql", "root@tcp(127.0.0.1:1"}, "invalid DSN"},
		{[]string{"--mysql", strings.TrimSuffix(dsn, "bank")}, "names no database"},
		{[]string{"--mysql", dsn, "--mysql-migrate=false"}, "run the migration first"},
		{[]string{"--mysql", dsn, "--postgres", "postgres://x@127.0.0.1/y"}, "choose one database"},
	} {
		p := startBank(t, dir, nil, append(slices.Clone(base), c.args...)...)
		if !p.exited(30 * time.Second) {
			t.Fatalf("bank %v still runs", c.args)
		}
		if p.err == nil || !strings.Contains(p.log(), c.want) {
			t.Fatalf("bank %v: exit %v, log %q; want a failure saying %q", c.args, p.err, p.log(), c.want)
		}
	}
	var n int
	db := openMy(t, dsn)
	if err := db.QueryRow("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'bank'").Scan(&n); err != nil || n != 0 {
		t.Fatalf("tables in the bank database after refused starts: %d, %v; want 0", n, err)
	}
}
