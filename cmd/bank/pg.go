package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"

	"github.com/arbiter-tx/arbiter/examples/bank"
	"github.com/arbiter-tx/arbiter/examples/bank/bankpb"
	"github.com/arbiter-tx/arbiter/participant"
	"github.com/arbiter-tx/arbiter/participant/postgres"
)

// pgFlags select PostgreSQL instead of the embedded store.
type pgFlags struct {
	dsn      string
	schema   string
	maxConns int
}

func (p *pgFlags) register() {
	flag.StringVar(&p.dsn, "postgres", os.Getenv("ARBITER_POSTGRES"), "keep the accounts in PostgreSQL at this DSN instead of the embedded store (env ARBITER_POSTGRES); the server needs max_prepared_transactions > 0")
	flag.StringVar(&p.schema, "postgres-schema", postgres.DefaultSchema, "schema of the participant adapter's tables (arbiter_outcomes, arbiter_meta)")
	flag.IntVar(&p.maxConns, "postgres-max-conns", 32, "connection pool size, unless the DSN sets pool_max_conns; must exceed the concurrent local transactions")
}

// runPostgres serves the bank with its accounts in PostgreSQL: the adapter
// prepares each branch as a PostgreSQL prepared transaction.
func runPostgres(ctx context.Context, f flags, log *zap.Logger) error {
	pcfg, err := pgxpool.ParseConfig(f.pg.dsn)
	if err != nil {
		return fmt.Errorf("--postgres: %w", err)
	}
	if !strings.Contains(f.pg.dsn, "pool_max_conns") && f.pg.maxConns > 0 {
		pcfg.MaxConns = int32(f.pg.maxConns)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return fmt.Errorf("--postgres: %w", err)
	}
	defer pool.Close() // after the agent, which serve closes first
	store, err := postgres.Open(ctx, pool, f.id, postgres.Options{Schema: f.pg.schema, Logger: log})
	if err != nil {
		return fmt.Errorf("--postgres %s: %w", redact(pcfg), err)
	}
	if err := bank.PGSeed(ctx, pool, accountNames(f.id, f.accounts), f.opening); err != nil {
		return fmt.Errorf("seed accounts: %w", err)
	}
	log.Info("accounts in PostgreSQL", zap.String("server", redact(pcfg)), zap.String("schema", f.pg.schema))
	// The agent prunes markers and tombstones (store.PruneOutcomes) by
	// --outcome-retention, raised to the coordinators' uniqueness window.
	return serve(ctx, f, log, store, bank.PGHandler, func(a *participant.Agent[pgx.Tx]) bankpb.BankServer {
		return &bank.PGService{Agent: a, Pool: pool}
	})
}

// redact names the server without the password.
func redact(c *pgxpool.Config) string {
	cc := c.ConnConfig
	return fmt.Sprintf("%s@%s:%d/%s", cc.User, cc.Host, cc.Port, cc.Database)
}
