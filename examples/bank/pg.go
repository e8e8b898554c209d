package bank

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/arbiter-tx/arbiter/examples/bank/bankpb"
	"github.com/arbiter-tx/arbiter/participant"
)

// The bank on PostgreSQL keeps accounts in one table; prepared transactions
// hold its row locks (SELECT ... FOR UPDATE) until the coordinator decides.
const pgSchema = `CREATE TABLE IF NOT EXISTS bank_accounts (
	account text PRIMARY KEY,
	balance bigint NOT NULL CHECK (balance >= 0)
)`

// PGHandler executes a coordinator-driven bank payload inside the pgx
// transaction that the PostgreSQL adapter prepares.
func PGHandler(ctx context.Context, tx pgx.Tx, payload []byte) error {
	var p bankpb.Payload
	if err := proto.Unmarshal(payload, &p); err != nil {
		return fmt.Errorf("bank: payload is not a bank.v1.Payload: %w", err)
	}
	for _, acct := range p.GetReadAccounts() {
		if _, err := pgBalance(ctx, tx, acct); err != nil {
			return err
		}
	}
	return pgApplyOps(ctx, tx, p.GetOps())
}

func pgApplyOps(ctx context.Context, tx pgx.Tx, ops []*bankpb.Op) error {
	if len(ops) > MaxOps {
		return fmt.Errorf("bank: %d ops exceeds the limit of %d", len(ops), MaxOps)
	}
	for _, op := range ops {
		if op.GetAccount() == "" {
			return fmt.Errorf("bank: op with an empty account name")
		}
		bal, err := pgBalance(ctx, tx, op.GetAccount())
		if err != nil {
			return err
		}
		next := bal + op.GetDelta()
		if next < 0 {
			return fmt.Errorf("bank: account %s holds %d, cannot apply %d: %w", op.GetAccount(), bal, op.GetDelta(), ErrInsufficientFunds)
		}
		_, err = tx.Exec(ctx, `INSERT INTO bank_accounts (account, balance) VALUES ($1, $2)
			ON CONFLICT (account) DO UPDATE SET balance = EXCLUDED.balance`, op.GetAccount(), next)
		if err != nil {
			return fmt.Errorf("bank: update %s: %w", op.GetAccount(), err)
		}
	}
	return nil
}

// pgBalance reads and locks one account; an absent account holds 0.
func pgBalance(ctx context.Context, tx pgx.Tx, acct string) (int64, error) {
	var bal int64
	err := tx.QueryRow(ctx, `SELECT balance FROM bank_accounts WHERE account = $1 FOR UPDATE`, acct).Scan(&bal)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("bank: read %s: %w", acct, err)
	}
	return bal, nil
}

// PGService serves the Bank gRPC API over PostgreSQL.
type PGService struct {
	bankpb.UnimplementedBankServer
	Agent *participant.Agent[pgx.Tx]
	Pool  *pgxpool.Pool
}

// Apply joins the caller's transaction (service-driven) and applies ops.
func (s *PGService) Apply(ctx context.Context, req *bankpb.ApplyRequest) (*bankpb.ApplyResponse, error) {
	err := s.Agent.Do(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if err := pgApplyOps(ctx, tx, req.GetOps()); err != nil {
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
func (s *PGService) Read(ctx context.Context, _ *bankpb.ReadRequest) (*bankpb.BalancesResponse, error) {
	var resp *bankpb.BalancesResponse
	err := s.Agent.Do(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		resp, err = pgScan(ctx, tx, `SELECT account, balance FROM bank_accounts ORDER BY account FOR UPDATE`)
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

// Balances reads committed balances.
func (s *PGService) Balances(ctx context.Context, _ *bankpb.BalancesRequest) (*bankpb.BalancesResponse, error) {
	resp, err := pgScan(ctx, s.Pool, `SELECT account, balance FROM bank_accounts`)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return resp, nil
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func pgScan(ctx context.Context, q querier, sql string) (*bankpb.BalancesResponse, error) {
	rows, err := q.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	resp := &bankpb.BalancesResponse{Balances: map[string]int64{}}
	for rows.Next() {
		var acct string
		var bal int64
		if err := rows.Scan(&acct, &bal); err != nil {
			return nil, err
		}
		resp.Balances[acct] = bal
		resp.Total += bal
	}
	return resp, rows.Err()
}

// PGSeed creates the accounts table and the accounts that do not exist yet.
func PGSeed(ctx context.Context, pool *pgxpool.Pool, accounts []string, opening int64) error {
	if _, err := pool.Exec(ctx, pgSchema); err != nil {
		return fmt.Errorf("bank: create table: %w", err)
	}
	existing, err := pgScan(ctx, pool, `SELECT account, balance FROM bank_accounts`) // a plain read never waits on prepared locks
	if err != nil {
		return err
	}
	for _, a := range accounts {
		if _, ok := existing.Balances[a]; ok {
			continue
		}
		_, err := pool.Exec(ctx, `INSERT INTO bank_accounts (account, balance) VALUES ($1, $2) ON CONFLICT DO NOTHING`, a, opening)
		if err != nil {
			return fmt.Errorf("bank: seed %s: %w", a, err)
		}
	}
	return nil
}
