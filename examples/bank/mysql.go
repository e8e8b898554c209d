package bank

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/arbiter-tx/arbiter/examples/bank/bankpb"
	"github.com/arbiter-tx/arbiter/participant"
	"github.com/arbiter-tx/arbiter/participant/mysql"
)

// The bank on MySQL/MariaDB keeps accounts in one InnoDB table; prepared
// XA branches hold its row locks (SELECT ... FOR UPDATE) until the
// coordinator decides. Account names compare byte for byte.
const mysqlSchema = `CREATE TABLE IF NOT EXISTS bank_accounts (
	account VARBINARY(512) NOT NULL PRIMARY KEY,
	balance BIGINT NOT NULL CHECK (balance >= 0)
) ENGINE = InnoDB`

// MySQLLockWait is the MySQL bank's lock wait bound (the adapter's
// Options.LockTimeout), as LockWait is the embedded bank's: transfers lock
// accounts in the order they arrive, and a short bound turns a wait
// behind another transfer into a no vote (InnoDB detects true deadlocks
// itself: error 1213, a no vote too).
const MySQLLockWait = LockWait

// MySQLHandler executes a coordinator-driven bank payload inside the XA
// branch that the MySQL adapter prepares.
func MySQLHandler(ctx context.Context, tx *mysql.Tx, payload []byte) error {
	var p bankpb.Payload
	if err := proto.Unmarshal(payload, &p); err != nil {
		return fmt.Errorf("bank: payload is not a bank.v1.Payload: %w", err)
	}
	for _, acct := range p.GetReadAccounts() {
		if _, err := myBalance(ctx, tx, acct); err != nil {
			return err
		}
	}
	return myApplyOps(ctx, tx, p.GetOps())
}

func myApplyOps(ctx context.Context, tx *mysql.Tx, ops []*bankpb.Op) error {
	if len(ops) > MaxOps {
		return fmt.Errorf("bank: %d ops exceeds the limit of %d", len(ops), MaxOps)
	}
	for _, op := range ops {
		if op.GetAccount() == "" {
			return fmt.Errorf("bank: op with an empty account name")
		}
		bal, err := myBalance(ctx, tx, op.GetAccount())
		if err != nil {
			return err
		}
		next := bal + op.GetDelta()
		if next < 0 {
			return fmt.Errorf("bank: account %s holds %d, cannot apply %d: %w", op.GetAccount(), bal, op.GetDelta(), ErrInsufficientFunds)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO bank_accounts (account, balance) VALUES (?, ?)
			ON DUPLICATE KEY UPDATE balance = VALUES(balance)`, op.GetAccount(), next)
		if err != nil {
			return fmt.Errorf("bank: update %s: %w", op.GetAccount(), err)
		}
	}
	return nil
}

// myBalance reads and locks one account; an absent account holds 0.
func myBalance(ctx context.Context, tx *mysql.Tx, acct string) (int64, error) {
	var bal int64
	err := tx.QueryRowContext(ctx, `SELECT balance FROM bank_accounts WHERE account = ? FOR UPDATE`, acct).Scan(&bal)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("bank: read %s: %w", acct, mysql.Classify(err))
	}
	return bal, nil
}

// MySQLService serves the Bank gRPC API over MySQL/MariaDB.
type MySQLService struct {
	bankpb.UnimplementedBankServer
	Agent *participant.Agent[*mysql.Tx]
	DB    *sql.DB
}

// Apply joins the caller's transaction (service-driven) and applies ops.
func (s *MySQLService) Apply(ctx context.Context, req *bankpb.ApplyRequest) (*bankpb.ApplyResponse, error) {
	err := s.Agent.Do(ctx, func(ctx context.Context, tx *mysql.Tx) error {
		if err := myApplyOps(ctx, tx, req.GetOps()); err != nil {
			return status.Error(codes.FailedPrecondition, err.Error())
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &bankpb.ApplyResponse{}, nil
}

// Read joins the caller's transaction and reads every account under lock,
// in account order.
func (s *MySQLService) Read(ctx context.Context, _ *bankpb.ReadRequest) (*bankpb.BalancesResponse, error) {
	var resp *bankpb.BalancesResponse
	err := s.Agent.Do(ctx, func(ctx context.Context, tx *mysql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT account, balance FROM bank_accounts ORDER BY account FOR UPDATE`)
		if err == nil {
			resp, err = myScan(rows)
		}
		if err != nil {
			return status.Error(codes.Aborted, err.Error())
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// Balances reads committed balances (a consistent read: it never waits on
// prepared branches).
func (s *MySQLService) Balances(ctx context.Context, _ *bankpb.BalancesRequest) (*bankpb.BalancesResponse, error) {
	resp, err := MySQLBalances(ctx, s.DB)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return resp, nil
}

// MySQLBalances reads the committed balances.
func MySQLBalances(ctx context.Context, db *sql.DB) (*bankpb.BalancesResponse, error) {
	rows, err := db.QueryContext(ctx, `SELECT account, balance FROM bank_accounts`)
	if err != nil {
		return nil, err
	}
	return myScan(rows)
}

func myScan(rows *sql.Rows) (*bankpb.BalancesResponse, error) {
	defer rows.Close()
	resp := &bankpb.BalancesResponse{Balances: map[string]int64{}}
	for rows.Next() {
		var acct []byte
		var bal int64
		if err := rows.Scan(&acct, &bal); err != nil {
			return nil, err
		}
		resp.Balances[string(acct)] = bal
		resp.Total += bal
	}
	return resp, rows.Err()
}

// MySQLSeed creates the accounts table and the accounts that do not exist
// yet. Existing accounts are read with a consistent read first, so a
// restart with branches in doubt never waits on their locks.
func MySQLSeed(ctx context.Context, db *sql.DB, accounts []string, opening int64) error {
	if _, err := db.ExecContext(ctx, mysqlSchema); err != nil {
		return fmt.Errorf("bank: create table: %w", err)
	}
	existing, err := MySQLBalances(ctx, db)
	if err != nil {
		return err
	}
	for _, a := range accounts {
		if _, ok := existing.Balances[a]; ok {
			continue
		}
		if _, err := db.ExecContext(ctx, `INSERT IGNORE INTO bank_accounts (account, balance) VALUES (?, ?)`, a, opening); err != nil {
			return fmt.Errorf("bank: seed %s: %w", a, err)
		}
	}
	return nil
}
