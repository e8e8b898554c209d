package bank

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/arbiter-tx/arbiter/examples/bank/bankpb"
	"github.com/arbiter-tx/arbiter/participant"
	"github.com/arbiter-tx/arbiter/participant/embedded"
)

// ErrInsufficientFunds is the reason of a no vote on an overdraft.
var ErrInsufficientFunds = errors.New("insufficient funds")

// MaxOps bounds the ops and reads of one payload.
const MaxOps = 1024

// LockWait bounds the wait for one account's lock. Transfers lock accounts
// in the order they arrive, so two of them can wait on each other; a short
// bound turns that deadlock into a no vote instead of a stall until the
// transaction's deadline.
const LockWait = 500 * time.Millisecond

// Handler executes a coordinator-driven bank payload inside the local tx.
func Handler(ctx context.Context, tx *embedded.Tx, payload []byte) error {
	var p bankpb.Payload
	if err := proto.Unmarshal(payload, &p); err != nil {
		return fmt.Errorf("bank: payload is not a bank.v1.Payload: %w", err)
	}
	for _, acct := range p.GetReadAccounts() {
		if _, err := balance(ctx, tx, acct); err != nil {
			return err
		}
	}
	return applyOps(ctx, tx, p.GetOps())
}

// EncodePayload builds a branch payload.
func EncodePayload(ops []*bankpb.Op, reads []string) []byte {
	b, _ := proto.Marshal(&bankpb.Payload{Ops: ops, ReadAccounts: reads})
	return b
}

func applyOps(ctx context.Context, tx *embedded.Tx, ops []*bankpb.Op) error {
	if len(ops) > MaxOps {
		return fmt.Errorf("bank: %d ops exceeds the limit of %d", len(ops), MaxOps)
	}
	for _, op := range ops {
		if op.GetAccount() == "" {
			return fmt.Errorf("bank: op with an empty account name")
		}
		bal, err := balance(ctx, tx, op.GetAccount())
		if err != nil {
			return err
		}
		next := bal + op.GetDelta()
		if next < 0 {
			return fmt.Errorf("bank: account %s holds %d, cannot apply %d: %w", op.GetAccount(), bal, op.GetDelta(), ErrInsufficientFunds)
		}
		if err := tx.Put(ctx, op.GetAccount(), []byte(strconv.FormatInt(next, 10))); err != nil {
			return err
		}
	}
	return nil
}

func balance(ctx context.Context, tx *embedded.Tx, acct string) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, LockWait)
	defer cancel()
	v, ok, err := tx.Get(ctx, acct)
	if err != nil || !ok {
		return 0, err
	}
	return decode(acct, v)
}

func decode(acct string, v []byte) (int64, error) {
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bank: account %s holds a non-integer value: %w", acct, err)
	}
	return n, nil
}

// Service serves the Bank gRPC API over an agent and its store.
type Service struct {
	bankpb.UnimplementedBankServer
	Agent *participant.Agent[*embedded.Tx]
	Store *embedded.Store
}

// Apply joins the caller's transaction (service-driven) and applies ops.
func (s *Service) Apply(ctx context.Context, req *bankpb.ApplyRequest) (*bankpb.ApplyResponse, error) {
	err := s.Agent.Do(ctx, func(ctx context.Context, tx *embedded.Tx) error {
		if err := applyOps(ctx, tx, req.GetOps()); err != nil {
			return status.Error(codes.FailedPrecondition, err.Error())
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &bankpb.ApplyResponse{}, nil
}

// Read joins the caller's transaction and reads every account under lock.
func (s *Service) Read(ctx context.Context, _ *bankpb.ReadRequest) (*bankpb.BalancesResponse, error) {
	all, err := s.Store.ReadAll()
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	resp := &bankpb.BalancesResponse{Balances: make(map[string]int64, len(all))}
	err = s.Agent.Do(ctx, func(ctx context.Context, tx *embedded.Tx) error {
		for _, acct := range slices.Sorted(maps.Keys(all)) {
			n, err := balance(ctx, tx, acct)
			if err != nil {
				return status.Error(codes.Aborted, err.Error())
			}
			resp.Balances[acct] = n
			resp.Total += n
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// Balances reads committed balances.
func (s *Service) Balances(ctx context.Context, _ *bankpb.BalancesRequest) (*bankpb.BalancesResponse, error) {
	all, err := s.Store.ReadAll()
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	resp := &bankpb.BalancesResponse{Balances: make(map[string]int64, len(all))}
	for k, v := range all {
		n, err := decode(k, v)
		if err != nil {
			return nil, status.Error(codes.DataLoss, err.Error())
		}
		resp.Balances[k] = n
		resp.Total += n
	}
	return resp, nil
}

// Seed creates accounts with an opening balance, once: accounts that exist
// keep their balance. It commits locally through the store's own
// prepare/commit under a local ID that no coordinator ever issues.
func Seed(ctx context.Context, st *embedded.Store, accounts []string, opening int64) error {
	var missing []string
	for _, a := range accounts {
		if _, ok, err := st.Read(a); err != nil {
			return err
		} else if !ok {
			missing = append(missing, a)
		}
	}
	if len(missing) == 0 {
		return nil // the usual case on a restart: prepared work may hold locks
	}
	txID := fmt.Sprintf("local-seed-%d", time.Now().UnixNano())
	tx, err := st.Begin(ctx, txID)
	if err != nil {
		return err
	}
	for _, a := range missing {
		if err := tx.Put(ctx, a, []byte(strconv.FormatInt(opening, 10))); err != nil {
			return errors.Join(err, st.Rollback(ctx, txID, tx))
		}
	}
	// One durable write with no prepared state in between: a running
	// agent's recovery must never find the seed in doubt and ask the
	// coordinators about a transaction they never heard of.
	if err := st.CommitOnePhase(ctx, txID, tx); err != nil {
		return errors.Join(err, st.Rollback(ctx, txID, tx))
	}
	return nil
}
