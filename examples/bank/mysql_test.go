package bank_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/examples/bank"
	"github.com/arbiter-tx/arbiter/examples/bank/bankpb"
	"github.com/arbiter-tx/arbiter/participant/mysql"
	"github.com/arbiter-tx/arbiter/participant/mysql/mysqltest"
)

// The bank's SQL against a real MariaDB server, through the XA adapter:
// seeding is idempotent, a payload moves money, an overdraft is refused
// and changes nothing, an account name too long for the table is a no vote.
func TestMySQLBankHandler(t *testing.T) {
	srv := mysqltest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	root, err := sql.Open("mysql", srv.DSN(""))
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	if _, err := root.ExecContext(ctx, "CREATE DATABASE bank"); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("mysql", srv.DSN("bank"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := mysql.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := bank.MySQLSeed(ctx, db, []string{"a", "b"}, 100); err != nil {
			t.Fatal(err)
		}
	}
	store, err := mysql.Open(ctx, db, "bank1", mysql.Options{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	run := func(ops ...*bankpb.Op) error {
		n++
		txID := "t" + string(rune('0'+n))
		tx, err := store.Begin(ctx, txID)
		if err != nil {
			t.Fatal(err)
		}
		if err := bank.MySQLHandler(ctx, tx, bank.EncodePayload(ops, []string{"a"})); err != nil {
			return errors.Join(err, store.Rollback(ctx, txID, tx))
		}
		return store.CommitOnePhase(ctx, txID, tx)
	}
	if err := run(&bankpb.Op{Account: "a", Delta: -30}, &bankpb.Op{Account: "b", Delta: 30}); err != nil {
		t.Fatal(err)
	}
	if err := run(&bankpb.Op{Account: "a", Delta: -500}); !errors.Is(err, bank.ErrInsufficientFunds) {
		t.Fatalf("overdraft: %v, want ErrInsufficientFunds", err)
	}
	long := string(make([]byte, 40000))
	if err := run(&bankpb.Op{Account: "x" + long, Delta: 1}); err == nil {
		t.Fatal("a 40,000-byte account name was accepted")
	}
	resp, err := (&bank.MySQLService{DB: db}).Balances(ctx, &bankpb.BalancesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetBalances()) != 2 || resp.GetBalances()["a"] != 70 || resp.GetBalances()["b"] != 130 || resp.GetTotal() != 200 {
		t.Fatalf("balances %v total %d, want a=70 b=130 total 200", resp.GetBalances(), resp.GetTotal())
	}
}
