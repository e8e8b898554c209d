package bank_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/arbiter-tx/arbiter/examples/bank"
	"github.com/arbiter-tx/arbiter/examples/bank/bankpb"
	"github.com/arbiter-tx/arbiter/participant/postgres/pgtest"
)

// The bank's SQL against a real PostgreSQL server: seeding is idempotent,
// a payload moves money, an overdraft is refused and changes nothing.
func TestPostgresBankHandler(t *testing.T) {
	srv := pgtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, srv.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	for range 2 {
		if err := bank.PGSeed(ctx, pool, []string{"a", "b"}, 100); err != nil {
			t.Fatal(err)
		}
	}
	run := func(ops ...*bankpb.Op) error {
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = tx.Rollback(ctx) }()
		if err := bank.PGHandler(ctx, tx, bank.EncodePayload(ops, []string{"a"})); err != nil {
			return err
		}
		return tx.Commit(ctx)
	}
	if err := run(&bankpb.Op{Account: "a", Delta: -30}, &bankpb.Op{Account: "b", Delta: 30}); err != nil {
		t.Fatal(err)
	}
	if err := run(&bankpb.Op{Account: "a", Delta: -500}); !errors.Is(err, bank.ErrInsufficientFunds) {
		t.Fatalf("overdraft: %v, want ErrInsufficientFunds", err)
	}
	resp, err := (&bank.PGService{Pool: pool}).Balances(ctx, &bankpb.BalancesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetBalances()["a"] != 70 || resp.GetBalances()["b"] != 130 || resp.GetTotal() != 200 {
		t.Fatalf("balances %v total %d, want a=70 b=130 total 200", resp.GetBalances(), resp.GetTotal())
	}
}
