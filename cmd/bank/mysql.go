package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"

	gomysql "github.com/go-sql-driver/mysql"
	"go.uber.org/zap"

	"github.com/arbiter-tx/arbiter/examples/bank"
	"github.com/arbiter-tx/arbiter/examples/bank/bankpb"
	"github.com/arbiter-tx/arbiter/participant"
	"github.com/arbiter-tx/arbiter/participant/mysql"
)

// myFlags select MySQL/MariaDB instead of the embedded store.
type myFlags struct {
	dsn      string
	maxConns int
	migrate  bool
}

func (m *myFlags) register() {
	flag.StringVar(&m.dsn, "mysql", os.Getenv("ARBITER_MYSQL"), "keep the accounts in MySQL/MariaDB at this DSN (go-sql-driver form: user:password@tcp(host:port)/database) instead of the embedded store (env ARBITER_MYSQL); the server needs MariaDB 10.5.2+ or MySQL 5.7.7+, innodb_flush_log_at_trx_commit=1 and, with the binlog on, sync_binlog=1")
	flag.IntVar(&m.maxConns, "mysql-max-conns", 32, "most open connections to MySQL; must exceed the concurrent local transactions (each holds one, a commit needs another)")
	flag.BoolVar(&m.migrate, "mysql-migrate", true, "run the adapter's migration (create arbiter_outcomes and arbiter_meta if missing) before starting; with false the tables must exist")
}

// runMySQL serves the bank with its accounts in MySQL/MariaDB: the adapter
// runs each branch as an XA transaction.
func runMySQL(ctx context.Context, f flags, log *zap.Logger) error {
	cfg, err := mysql.ParseDSN(f.my.dsn)
	if err != nil {
		return fmt.Errorf("--mysql: %w", err)
	}
	conn, err := gomysql.NewConnector(cfg)
	if err != nil {
		return fmt.Errorf("--mysql: %w", err)
	}
	db := sql.OpenDB(conn)
	defer db.Close() // after the agent, which serve closes first
	db.SetMaxOpenConns(f.my.maxConns)
	if f.my.migrate {
		if err := mysql.Migrate(ctx, db); err != nil {
			return fmt.Errorf("--mysql %s: %w", redactMy(cfg), err)
		}
	}
	store, err := mysql.Open(ctx, db, f.id, mysql.Options{LockTimeout: bank.MySQLLockWait, Logger: log})
	if err != nil {
		return fmt.Errorf("--mysql %s: %w", redactMy(cfg), err)
	}
	if err := bank.MySQLSeed(ctx, db, accountNames(f.id, f.accounts), f.opening); err != nil {
		return fmt.Errorf("seed accounts: %w", err)
	}
	log.Info("accounts in MySQL", zap.String("server", redactMy(cfg)))
	// The agent prunes markers and tombstones (store.PruneOutcomes) by
	// --outcome-retention, raised to the coordinators' uniqueness window.
	return serve(ctx, f, log, store, bank.MySQLHandler, func(a *participant.Agent[*mysql.Tx]) bankpb.BankServer {
		return &bank.MySQLService{Agent: a, DB: db}
	})
}

// redactMy names the server without the password.
func redactMy(c *gomysql.Config) string {
	return fmt.Sprintf("%s@%s(%s)/%s", c.User, c.Net, c.Addr, c.DBName)
}
